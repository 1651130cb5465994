// Bidi streams: exactly one response per request, in request order, and a failing item
// never ends the stream (its error becomes that item's google.rpc.Status).
/**
 * Maps each request to a response, keeping order, with up to `concurrency` requests
 * in flight. `fn` is started in request order, so effects that happen synchronously
 * when it starts (the engine applies a write before awaiting its WAL record) happen
 * in request order too. Requests keep being read while results are awaited, so a
 * client that waits for each response before sending the next (ping-pong) never
 * deadlocks.
 *
 * `fn` must not throw: it returns the item's response or its error status.
 */
export async function* ordered<I, O>(source: AsyncIterable<I>, fn: (req: I) => Promise<O>, concurrency: number): AsyncGenerator<O> {
  const it = source[Symbol.asyncIterator]();
  const queue: Promise<O>[] = [];
  let done = false;
  let pulling: Promise<boolean> | undefined;
  const pull = async (): Promise<boolean> => {
    const r = await it.next();
    if (r.done) done = true;
    else queue.push(fn(r.value));
    pulling = undefined;
    return false;
  };
  try {
    for (;;) {
      if (!done && !pulling && queue.length < concurrency) pulling = pull();
      const head = queue[0];
      if (!head) {
        if (!pulling) return;
        await pulling;
        continue;
      }
      const headReady = pulling ? await Promise.race([head.then(() => true), pulling]) : true;
      if (headReady) {
        queue.shift();
        yield await head;
      }
    }
  } finally {
    // The client went away or failed: stop reading; in-flight items finish on their own.
    if (pulling) pulling.catch(() => undefined);
    await it.return?.();
  }
}

/** Builds an item response from a success value or a status. */
export async function settle<T, O>(work: () => Promise<T>, ok: (v: T) => O, fail: (e: unknown) => O): Promise<O> {
  try {
    return ok(await work());
  } catch (e) {
    return fail(e);
  }
}
