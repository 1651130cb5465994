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
  // Callbacks and one wake-up promise per wait, not a Promise.race per item: on a
  // StreamInsert the per-item promise plumbing was a visible share of the agent's CPU.
  const queue: { ready: boolean; value: O | undefined }[] = [];
  let done = false;
  let pulling = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  /** set once the consumer is gone: a request read after that is not started, as nobody hears its answer */
  let closed = false;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const pull = () => {
    pulling = true;
    it.next().then(
      (r) => {
        pulling = false;
        if (r.done) done = true;
        else if (!closed) {
          const slot: { ready: boolean; value: O | undefined } = { ready: false, value: undefined };
          queue.push(slot);
          void fn(r.value).then((v) => {
            slot.ready = true;
            slot.value = v;
            if (slot === queue[0]) notify();
          });
        }
        notify();
      },
      (error: unknown) => {
        pulling = false;
        failure = { error };
        notify();
      },
    );
  };
  try {
    for (;;) {
      if (failure) throw failure.error;
      if (!done && !pulling && queue.length < concurrency) pull();
      const head = queue[0];
      if (head?.ready) {
        queue.shift();
        yield head.value as O;
        continue;
      }
      if (!head && !pulling) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    // The client went away or failed: stop reading; in-flight items finish on their own.
    closed = true;
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
