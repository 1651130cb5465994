// alvd.cluster.v1.Replica: what a server's repair needs from this agent. Listing gives
// ids and timestamps only, range by range of the id hash, so a server can find missing
// or stale copies of millions of ids without the vectors; Put and Drop are conditional
// on timestamps, so a copy or a trim never undoes a newer write that raced it. The lease
// and the draining flag live here, on the agent, so every server sharing it agrees.
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  AgentStateSchema,
  DropResponseSchema,
  FetchResponseSchema,
  LeaseResponseSchema,
  ListPageSchema,
  PutResponseSchema,
  type AgentState,
  type Replica,
} from "../../gen/alvd/cluster/v1/replica_pb";
import { Object_VectorSchema, type Object_Vector } from "../../gen/payload/v1/payload_pb";
import { version } from "../../version";
import { unary, type HandlerEnv } from "./env";
import { invalidArgument } from "./errors";
import { idHash } from "./id-hash";
import { vectorMessage } from "./object";
import { checkId, checkVector } from "./validate";

const DEFAULT_PAGE = 4096;
const MAX_PAGE = 65536;
/** entries scanned between turns of the event loop, so a long listing never stalls searches */
const SCAN_SLICE = 32768;
const MAX_LEASE_MS = 10 * 60_000;

const HASH_SPACE = 2 ** 32;

/** Fetch/Put/Drop items per call: --max-batch, as for Multi* (a server's repair sends 256) */
function checkBatch(n: number, field: string, max: number): void {
  if (n > max) throw invalidArgument(`${field} has ${n} items, more than --max-batch ${max} per call`, [{ field, description: `at most ${max} items` }], "TOO_MANY_REQUESTS");
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

export function replicaService(env: HandlerEnv): ServiceImpl<typeof Replica> {
  const { engine } = env;
  let lease: { holder: string; until: number } | undefined;
  let draining = false;
  const startedMs = BigInt(Date.now());
  const state = (): AgentState =>
    create(AgentStateSchema, {
      name: engine.options.name,
      stored: BigInt(engine.counts().stored),
      draining,
      startedMs,
      isa: engine.isa,
      simd: engine.options.simd,
      indexMemoryBytes: BigInt(engine.memoryUsage()),
      rssBytes: BigInt(process.memoryUsage.rss()),
      version,
    });

  return {
    async *list(req) {
      const from = req.hashFrom;
      const to = req.hashTo === 0 ? HASH_SPACE : req.hashTo;
      if (to <= from) throw invalidArgument("hash_to must be above hash_from (0 = end of the hash space)", [{ field: "hash_to", description: "exclusive end" }]);
      const size = req.pageSize === 0 ? DEFAULT_PAGE : Math.min(req.pageSize, MAX_PAGE);
      const whole = from === 0 && to === HASH_SPACE;
      let ids: string[] = [];
      let timestamps: bigint[] = [];
      let scanned = 0;
      for (const [id, ts] of engine.timestamps()) {
        if (whole || inRange(idHash(id), from, to)) {
          ids.push(id);
          timestamps.push(ts);
          if (ids.length >= size) {
            yield create(ListPageSchema, { ids, timestamps });
            ids = [];
            timestamps = [];
          }
        }
        if (++scanned % SCAN_SLICE === 0) await turn();
      }
      if (ids.length > 0) yield create(ListPageSchema, { ids, timestamps });
    },

    fetch: (req, ctx) =>
      unary(env, ctx, () => {
        checkBatch(req.ids.length, "ids", env.limits.maxBatch);
        const vectors: Object_Vector[] = [];
        for (const id of req.ids) {
          if (!engine.exists(id)) continue;
          const v = engine.get(id);
          vectors.push(req.timestampsOnly ? create(Object_VectorSchema, { id, timestamp: v.timestamp }) : vectorMessage(v));
        }
        return create(FetchResponseSchema, { vectors });
      }),

    put: (req, ctx) =>
      unary(env, ctx, async () => {
        checkBatch(req.vectors.length, "vectors", env.limits.maxBatch);
        const items = req.vectors.map((v, i) => {
          const field = `vectors[${i}]`;
          if (v.timestamp <= 0n) throw invalidArgument(`${field}.timestamp must be set on a copy`, [{ field: `${field}.timestamp`, description: "> 0" }]);
          return { id: checkId(v.id, `${field}.id`, env.limits), vector: checkVector(v, engine.options.dimension, `${field}.vector`), timestamp: v.timestamp };
        });
        const applied = await Promise.all(items.map((it) => engine.putIfNewer(it.id, it.vector, it.timestamp)));
        return create(PutResponseSchema, { applied });
      }),

    drop: (req, ctx) =>
      unary(env, ctx, async () => {
        checkBatch(req.items.length, "items", env.limits.maxBatch);
        const items = req.items.map((t, i) => ({ id: checkId(t.id, `items[${i}].id`, env.limits), timestamp: t.timestamp }));
        const dropped = await Promise.all(items.map((it) => engine.removeIfNotNewer(it.id, it.timestamp)));
        return create(DropResponseSchema, { dropped });
      }),

    lease: (req, ctx) =>
      unary(env, ctx, () => {
        if (!req.holder) throw invalidArgument("holder must not be empty", [{ field: "holder", description: "required" }]);
        const now = Date.now();
        const free = lease === undefined || lease.until <= now || lease.holder === req.holder;
        if (req.release) {
          if (lease?.holder === req.holder) lease = undefined;
          return create(LeaseResponseSchema, { granted: false, holder: lease && lease.until > now ? lease.holder : "", remainingMs: 0 });
        }
        if (req.ttlMs === 0 || req.ttlMs > MAX_LEASE_MS) {
          throw invalidArgument(`ttl_ms must be 1..${MAX_LEASE_MS}`, [{ field: "ttl_ms", description: `1..${MAX_LEASE_MS}` }]);
        }
        if (free) lease = { holder: req.holder, until: now + req.ttlMs };
        const cur = lease!;
        return create(LeaseResponseSchema, { granted: cur.holder === req.holder, holder: cur.holder, remainingMs: Math.max(0, cur.until - now) });
      }),

    state: (_req, ctx) => unary(env, ctx, state),

    setDraining: (req, ctx) =>
      unary(env, ctx, () => {
        if (req.draining !== draining) env.log.info(req.draining ? "draining: taking no new vectors, servers move the held ones away" : "drain cancelled: taking vectors again");
        draining = req.draining;
        return state();
      }),
  };
}

function inRange(h: number, from: number, to: number): boolean {
  return h >= from && h < to;
}
