// Insert, Update and Upsert share one request shape (Object.Vector + Config) and the
// same unary / Stream / Multi semantics, so their handlers are built here once.
//
// Multi* semantics (documented choice): every item is validated first (format,
// dimension, finite floats) and checked against the store where the outcome is known
// in advance (Insert without skip_strict_exist_check: AlreadyExists for an id already
// stored or repeated in the request; Update: NotFound for a missing id). Any such
// failure rejects the whole call before anything is applied, so bad input never
// half-applies. Failures only the engine can see (e.g. Update to an identical
// vector, or a concurrent writer racing us) are applied-around: the other items are
// written and the call fails with the first item's error, naming the item.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import {
  Object_LocationsSchema,
  Object_StreamLocationSchema,
  type Object_Location,
  type Object_Locations,
  type Object_StreamLocation,
  type Object_Vector,
} from "../../gen/payload/v1/payload_pb";
import { failed, location, unary, type HandlerEnv } from "./env";
import { failure, toStatus } from "./errors";
import { ordered, settle } from "./stream";
import type { RequestLimits } from "../../config/limits";
import { checkBatch, checkId, checkTimestamp, checkVector } from "./validate";

export type WriteOp = "insert" | "update" | "upsert";

/**
 * Writes in flight per Stream* call. The engine decides a write's outcome synchronously
 * when called (against the writes already in flight) and applies it once its WAL record
 * is durable, and `ordered` starts items in request order: so "insert then update the
 * same id" on one stream still applies as written, each response still means
 * "durable", and many items share one WAL flush (group commit) instead of paying an
 * fsync each. The window is what one fsync can cover: a client that writes ahead gets
 * at most this many items per flush, so a small window makes a bulk StreamInsert wait
 * on the disk (64 at 784-d: 60k items took 5.0 s, 1,024: 3.9 s). It is bounded by the
 * vector bytes it holds, so a stream of wide vectors cannot pin much memory.
 */
export function writeStreamConcurrency(dimension: number): number {
  return Math.max(WRITE_STREAM_MIN, Math.min(WRITE_STREAM_MAX, Math.floor(WRITE_STREAM_BYTES / (4 * Math.max(1, dimension)))));
}
const WRITE_STREAM_MIN = 64;
const WRITE_STREAM_MAX = 1024;
const WRITE_STREAM_BYTES = 4 << 20;

/** Insert.Request, Update.Request and Upsert.Request all look like this. */
export interface WriteRequest {
  vector?: Object_Vector;
  config?: { skipStrictExistCheck: boolean; timestamp: bigint };
}

interface WriteItem {
  id: string;
  vector: Float32Array;
  timestamp: bigint;
  skip: boolean;
}

function parse(req: WriteRequest, dimension: number, field: string, limits: RequestLimits): WriteItem {
  const id = checkId(req.vector?.id, `${field}.id`, limits);
  const vector = checkVector(req.vector, dimension, `${field}.vector`);
  // Config.timestamp is Vald's; Object.Vector.timestamp is honoured when the config has none.
  const timestamp = checkTimestamp(req.config?.timestamp || req.vector?.timestamp || 0n, "config.timestamp");
  return { id, vector, timestamp, skip: req.config?.skipStrictExistCheck ?? false };
}

/** A Multi* item failure, named so the caller can find the item. */
export function atItem(e: unknown, index: number, id: string): unknown {
  if (!(e instanceof ConnectError)) return e;
  const named = new ConnectError(`requests[${index}] (id ${JSON.stringify(id)}): ${e.rawMessage}`, e.code, e.metadata, undefined, e.cause);
  named.details = e.details;
  return named;
}

/** Runs items concurrently when their ids are distinct, in order otherwise; returns the first failure. */
export async function applyAll<T extends { id: string }>(items: T[], apply: (item: T) => Promise<void>): Promise<unknown> {
  const distinct = new Set(items.map((i) => i.id)).size === items.length;
  if (distinct) {
    const results = await Promise.allSettled(items.map(apply));
    const i = results.findIndex((r) => r.status === "rejected");
    if (i < 0) return undefined;
    return atItem((results[i] as PromiseRejectedResult).reason, i, items[i]!.id);
  }
  let first: unknown;
  for (const [i, item] of items.entries()) {
    try {
      await apply(item);
    } catch (e) {
      first ??= atItem(e, i, item.id);
    }
  }
  return first;
}

export interface WriteHandlers<R extends WriteRequest> {
  unary(req: R, ctx: HandlerContext): Promise<Object_Location>;
  stream(reqs: AsyncIterable<R>, ctx: HandlerContext): AsyncGenerator<Object_StreamLocation>;
  multi(req: { requests: R[] }, ctx: HandlerContext): Promise<Object_Locations>;
}

export function writeHandlers<R extends WriteRequest>(env: HandlerEnv, op: WriteOp): WriteHandlers<R> {
  const { engine } = env;
  const dimension = engine.options.dimension;
  const streamWindow = writeStreamConcurrency(dimension);
  const apply = (item: WriteItem) => engine[op](item.id, item.vector, item.timestamp, item.skip);

  /** outcomes we can tell before writing anything (see the header) */
  const precheck = (items: WriteItem[]) => {
    const seen = new Set<string>();
    for (const [i, item] of items.entries()) {
      if (op === "insert" && !item.skip && (engine.exists(item.id) || seen.has(item.id))) {
        throw failure(Code.AlreadyExists, `requests[${i}]: id ${JSON.stringify(item.id)} already exists`, "ID_ALREADY_EXISTS");
      }
      if (op === "update" && !engine.exists(item.id)) {
        throw failure(Code.NotFound, `requests[${i}]: id ${JSON.stringify(item.id)} not found`, "ID_NOT_FOUND");
      }
      seen.add(item.id);
    }
  };

  return {
    unary: (req, ctx) =>
      unary(
        env,
        ctx,
        async () => {
          const item = parse(req, dimension, "vector", env.limits);
          await apply(item);
          return location(env, item.id);
        },
        { id: req.vector?.id },
      ),

    stream: (reqs, ctx) =>
      ordered(
        reqs,
        (req) =>
          settle(
            async () => {
              const item = parse(req, dimension, "vector", env.limits);
              await apply(item);
              return location(env, item.id);
            },
            (loc) => create(Object_StreamLocationSchema, { payload: { case: "location", value: loc } }),
            (e) =>
              create(Object_StreamLocationSchema, {
                payload: { case: "status", value: toStatus(failed(env, ctx, e, { id: req.vector?.id })) },
              }),
          ),
        streamWindow,
      ),

    multi: (req, ctx) =>
      unary(env, ctx, async () => {
        checkBatch(req.requests.length, env.limits);
        const items = req.requests.map((r, i) => parse(r, dimension, `requests[${i}].vector`, env.limits));
        precheck(items);
        const err = await applyAll(items, apply);
        if (err) throw err;
        return create(Object_LocationsSchema, { locations: items.map((i) => location(env, i.id)) });
      }),
  };
}
