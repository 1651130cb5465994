// --ttl: every check interval the server removes, on every agent, the vectors whose
// timestamp is older than now − ttl, with the gateway's RemoveByTimestamp: the agents
// log it in their WAL like a client's remove, the repair pauses for it, and agents away
// at the time get a tombstone so their expired copies are not copied back. Driven from
// the server rather than by each agent so that every replica expires together and one
// setting covers the cluster. An insertDataInterceptor that sets a vector's timestamp
// decides when that vector expires.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Remove_TimestampRequestSchema, Remove_Timestamp_Operator } from "../gen/payload/v1/payload_pb";
import type { Logger } from "../observe/log";
import { Counter, type Registry } from "../observe/prom";
import type { Gateway } from "./context";
import { removeByTimestamp } from "./remove";
import { nowNs } from "./timestamp";

export interface ExpiryOptions {
  ttlMs: number;
  intervalMs: number;
  log: Logger;
  registry?: Registry;
  /** bound on one sweep (ms) */
  timeoutMs?: number;
}

export interface Expiry {
  start(): void;
  stop(): Promise<void>;
  /** one sweep now; resolves with how many vectors it removed */
  sweep(): Promise<number>;
}

export function createExpiry(gw: Gateway, opts: ExpiryOptions): Expiry {
  const log = opts.log.with({ component: "expiry" });
  const expired = opts.registry
    ? new Counter({ name: "alvd_gateway_expired_vectors_total", help: "Vectors removed because their timestamp was older than --ttl", registers: [opts.registry] })
    : undefined;
  const ttlNs = BigInt(Math.round(opts.ttlMs)) * 1_000_000n;
  let ac = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<number> | undefined;

  const once = async (): Promise<number> => {
    if (gw.agents.list().length === 0) return 0;
    const before = nowNs() - ttlNs;
    const req = create(Remove_TimestampRequestSchema, { timestamps: [{ timestamp: before, operator: Remove_Timestamp_Operator.LT }] });
    try {
      const n = (await removeByTimestamp(gw, req, { signal: ac.signal, timeoutMs: opts.timeoutMs ?? 30_000 })).locations.length;
      expired?.inc(n);
      log.info("expired vectors removed", { count: n, olderThan: new Date(Number(before / 1_000_000n)).toISOString() });
      return n;
    } catch (e) {
      const err = ConnectError.from(e);
      if (err.code === Code.NotFound) return 0;
      if (!ac.signal.aborted) log.warn("expiry sweep failed; trying again next interval", { code: Code[err.code], err: err.rawMessage });
      return 0;
    }
  };
  /** sweeps never overlap */
  const sweep = () => (running ??= once().finally(() => (running = undefined)));

  const schedule = () => {
    timer = setTimeout(() => void sweep().finally(() => timer !== undefined && schedule()), opts.intervalMs);
    (timer as { unref?: () => void }).unref?.();
  };

  return {
    start() {
      if (timer !== undefined || opts.ttlMs <= 0) return;
      ac = new AbortController();
      log.info("vectors expire after --ttl", { ttlMs: opts.ttlMs, checkEveryMs: opts.intervalMs });
      schedule();
    },
    async stop() {
      clearTimeout(timer);
      timer = undefined;
      ac.abort(new ConnectError("server stopping", Code.Canceled));
      await running;
    },
    sweep,
  };
}
