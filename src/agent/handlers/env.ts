// What every handler family shares: the engine, the agent's identity for locations and
// error details, and one way to run a call so every failure leaves with Vald details.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { Object_LocationSchema, type Object_Location } from "../../gen/payload/v1/payload_pb";
import type { RequestLimits } from "../../config/limits";
import type { Logger } from "../../observe/log";
import type { Engine } from "../engine/types";
import { enrich, scopeOf, type ErrorScope } from "./errors";

export interface HandlerEnv {
  engine: Engine;
  log: Logger;
  limits: RequestLimits;
}

export function location(env: HandlerEnv, id: string): Object_Location {
  return create(Object_LocationSchema, { name: env.engine.options.name, uuid: id, ips: env.engine.options.ips });
}

/** Any thrown value → ConnectError with details; unexpected ones are logged (they are our bugs). */
export function failed(env: HandlerEnv, ctx: HandlerContext, e: unknown, extra: Partial<ErrorScope> = {}): ConnectError {
  const err = enrich(e, scopeOf(ctx, env.engine.options.name, extra));
  if (err.code === Code.Internal || err.code === Code.Unknown) {
    env.log.error("rpc failed", { rpc: `${ctx.service.typeName}/${ctx.method.name}`, err: err.cause instanceof Error ? err.cause : err });
  }
  return err;
}

/** Runs a unary call body; every failure leaves as an enriched ConnectError. */
export async function unary<T>(env: HandlerEnv, ctx: HandlerContext, body: () => Promise<T> | T, extra: Partial<ErrorScope> = {}): Promise<T> {
  try {
    return await body();
  } catch (e) {
    throw failed(env, ctx, e, extra);
  }
}

/**
 * Settles with `work` unless the per-request timeout or the client's deadline/cancel
 * (ctx.signal) comes first. The engine call itself cannot be interrupted; a late result
 * is dropped. Work that finishes but took longer than timeoutMs is also a timeout, so a
 * tiny timeout fails the same way however fast the index is. `watch`: give up when the
 * signal fires; false where the call's context already races the call against it (a
 * listener per search is a measurable share of a unary call's own CPU). Where it does,
 * and the call's own deadline comes no later than timeoutMs (a gateway sends the same
 * deadline both ways), that deadline ends the search and no timer of ours is set.
 */
export function withDeadline<T>(work: Promise<T>, timeoutMs: number, ctx: HandlerContext, watch: boolean): Promise<T> {
  const started = performance.now();
  const late = () => new ConnectError(`search exceeded its timeout of ${timeoutMs} ms`, Code.DeadlineExceeded);
  const signal = watch ? ctx.signal : undefined;
  if (signal?.aborted) return Promise.reject(ConnectError.from(signal.reason, Code.DeadlineExceeded));
  // 1 ms of slack: a deadline sent in whole milliseconds is rounded up
  const callLeft = watch ? undefined : ctx.timeoutMs();
  const timed = timeoutMs > 0 && (callLeft === undefined || callLeft > timeoutMs + 1);
  if (!watch && !timed) {
    if (timeoutMs <= 0) return work;
    return work.then((v) => (performance.now() - started > timeoutMs ? Promise.reject(late()) : v));
  }
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => {
      cleanup();
      reject(ConnectError.from(signal!.reason, Code.DeadlineExceeded));
    };
    const cleanup = () => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    if (timed) {
      timer = setTimeout(() => {
        cleanup();
        reject(late());
      }, Math.max(1, Math.ceil(timeoutMs)));
    }
    work.then(
      (v) => {
        cleanup();
        if (timeoutMs > 0 && performance.now() - started > timeoutMs) reject(late());
        else resolve(v);
      },
      (e: unknown) => {
        cleanup();
        reject(e);
      },
    );
  });
}
