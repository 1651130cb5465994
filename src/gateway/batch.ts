// Multi* and Stream* on top of the unary paths: the same per-item semantics, items
// worked on concurrently (bounded), answers in request order.
import type { HandlerContext } from "@connectrpc/connect";
import { ConnectError } from "@connectrpc/connect";
import type { Status } from "../gen/google/rpc/status_pb";
import { mapLimit, orderedStream, serialByKey } from "./concurrency";
import type { Gateway } from "./context";
import { mostMeaningful, toStatus } from "./errors";
import { clientTimeout, type CallScope } from "./fanout";
import { checkBatch } from "./validate";

export function scopeOf(ctx: HandlerContext): CallScope {
  return { signal: ctx.signal, timeoutMs: clientTimeout(ctx) };
}

/**
 * Runs every item (none is skipped because another failed, as in Vald) and fails the
 * call with the most meaningful item error if any item failed; a Multi* response has
 * no room for per-item errors.
 */
export async function multi<I, O>(gw: Gateway, rpc: string, items: readonly I[], fn: (item: I) => Promise<O>, key?: (item: I) => string | undefined): Promise<O[]> {
  checkBatch(rpc, items.length, gw.limits);
  const errors: ConnectError[] = [];
  const run = key === undefined ? fn : serialByKey(key, fn);
  const out = await mapLimit(items, gw.multiConcurrency, async (item) => {
    try {
      return await run(item);
    } catch (e) {
      errors.push(ConnectError.from(e));
      return undefined;
    }
  });
  const worst = mostMeaningful(errors);
  if (worst !== undefined) {
    if (errors.length > 1) {
      const err = new ConnectError(`${rpc}: ${errors.length} of ${items.length} items failed; first: ${worst.rawMessage}`, worst.code);
      err.details = worst.details;
      throw err;
    }
    throw worst;
  }
  return out as O[];
}

/**
 * A bidi stream where each request's failure becomes that response's `status`. With
 * `key`, requests for the same id are applied in stream order (writes).
 */
export function streamEach<I, O, R>(
  gw: Gateway,
  requests: AsyncIterable<I>,
  fn: (req: I) => Promise<O>,
  ok: (o: O) => R,
  fail: (s: Status) => R,
  key?: (req: I) => string | undefined,
): AsyncGenerator<R> {
  // via then(): a synchronous throw in fn is an item failure too, not the stream's end
  const safe = (req: I) => Promise.resolve(req).then(fn);
  const run = key === undefined ? safe : serialByKey(key, safe);
  return orderedStream(requests, gw.streamConcurrency, (req) =>
    run(req).then(ok, (e: unknown) => {
      gw.log.debug("stream item failed", { err: e });
      return fail(toStatus(e));
    }),
  );
}
