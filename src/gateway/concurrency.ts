// Bounded concurrency for Multi* items and bidi streams.

/** Runs fn over items with at most `limit` in flight; results keep the items' order. */
export async function mapLimit<I, O>(items: readonly I[], limit: number, fn: (item: I, index: number) => Promise<O>): Promise<O[]> {
  const out = new Array<O>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return out;
}

/**
 * Maps a request stream to a response stream, one response per request and in request
 * order, with up to `limit` requests being worked on at once. It keeps reading while
 * earlier requests are in flight, and keeps answering while the client is silent, so
 * a client that waits for each answer before sending the next request never stalls.
 * `fn` must not reject: per-item failures belong in the item's response.
 */
export async function* orderedStream<I, O>(requests: AsyncIterable<I>, limit: number, fn: (req: I) => Promise<O>): AsyncGenerator<O> {
  const it = requests[Symbol.asyncIterator]();
  const pending: Promise<O>[] = [];
  let reading: Promise<IteratorResult<I>> | undefined;
  let ended = false;
  const cap = Math.max(1, limit);
  const read = () => {
    const r = it.next();
    // If we stop early (client gone) a read still pending may fail later; it is not news.
    r.catch(() => {});
    return r;
  };
  for (;;) {
    if (!ended && reading === undefined && pending.length < cap) reading = read();
    if (pending.length === 0) {
      if (reading === undefined) return;
      const r = await reading;
      reading = undefined;
      if (r.done === true) ended = true;
      else pending.push(fn(r.value));
      continue;
    }
    const head = pending[0]!;
    const winner = reading === undefined ? "head" : await Promise.race([head.then(() => "head" as const), reading.then(() => "read" as const)]);
    if (winner === "head") {
      pending.shift();
      yield await head;
    } else {
      const r = await reading!;
      reading = undefined;
      if (r.done === true) ended = true;
      else pending.push(fn(r.value));
    }
  }
}

/**
 * Wraps fn so that calls with the same key run one after another, in call order, while
 * calls with different keys still overlap: two writes to one id inside one stream or
 * Multi* call must apply in request order (an Update right after the Insert of the
 * same id must see it).
 */
export function serialByKey<I, O>(key: (item: I) => string | undefined, fn: (item: I) => Promise<O>): (item: I) => Promise<O> {
  const tails = new Map<string, Promise<unknown>>();
  return (item) => {
    const k = key(item);
    if (k === undefined) return fn(item);
    const prev = tails.get(k);
    const run = prev === undefined ? fn(item) : prev.then(() => fn(item));
    const tail = run.then(
      () => {},
      () => {},
    );
    tails.set(k, tail);
    void tail.then(() => {
      if (tails.get(k) === tail) tails.delete(k);
    });
    return run;
  };
}
