// Helpers for self-healing scenarios on real processes: what each agent holds (asked on
// the agents' own ports, not through the server), the server's repair status, and a
// client load (searches, inserts, updates, removes) that records every failure and the
// last acknowledged value of every id it wrote.
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Admin } from "../../src/gen/alvd/cluster/v1/admin_pb";
import { Replica } from "../../src/gen/alvd/cluster/v1/replica_pb";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { Object$ } from "../../src/gen/vald/v1/object_pb";
import { Remove } from "../../src/gen/vald/v1/remove_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { Update } from "../../src/gen/vald/v1/update_pb";
import type { AgentProc, ServerProc } from "./cluster";

export function grpcClient<S extends Parameters<typeof createClient>[0]>(service: S, port: number): Client<S> {
  return createClient(service, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` })) as Client<S>;
}

export type Holdings = Map<string, { agent: string; ts: bigint }[]>;

/** id → copies, listed by each agent itself */
export async function holdings(agents: readonly AgentProc[]): Promise<Holdings> {
  const out: Holdings = new Map();
  for (const a of agents) {
    for await (const page of grpcClient(Replica, a.grpcPort).list({})) {
      page.ids.forEach((id, i) => {
        const l = out.get(id) ?? [];
        l.push({ agent: a.name, ts: page.timestamps[i]! });
        out.set(id, l);
      });
    }
  }
  return out;
}

export function admin(server: ServerProc) {
  return grpcClient(Admin, server.grpcPort);
}

/** polls until `check` returns true; the error names `what` and ends with the server's log */
export async function eventually(what: string, check: () => Promise<boolean>, server: ServerProc, timeoutMs = 60_000): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (await check().catch(() => false)) return performance.now() - t0;
    await Bun.sleep(100);
  }
  throw new Error(`timed out waiting for ${what}\n--- server log ---\n${server.logs().split("\n").slice(-60).join("\n")}`);
}

/** every id in `ids` has exactly `n` copies, all at one timestamp; returns the problems found */
export function replicationProblems(h: Holdings, ids: Iterable<string>, n: number, limit = 5): string[] {
  const bad: string[] = [];
  for (const id of ids) {
    const c = h.get(id) ?? [];
    const ts = new Set(c.map((x) => x.ts));
    if (c.length !== n || ts.size > 1) bad.push(`${id}: ${c.map((x) => `${x.agent}@${x.ts}`).join(" ") || "no copy"}`);
    if (bad.length >= limit) break;
  }
  return bad;
}

export interface LoadStats {
  searches: number;
  inserts: number;
  updates: number;
  removes: number;
  failures: string[];
  /** searches for an unchanged vector whose own id was not the nearest hit, not even by an exact LinearSearch right after */
  misses: string[];
  /** ... found by the LinearSearch (the HNSW graph's approximation, not a missing copy) */
  approximate: number;
  duplicates: number;
}

/**
 * Searches (for vectors of `stable` ids, which the load never changes) and writes: new
 * ids, updates of `mutable` ids, removes of `removable` ids. Runs until stop().
 */
export function startLoad(opts: {
  port: number;
  dim: number;
  stable: readonly { id: string; vector: number[] }[];
  mutable: readonly string[];
  removable: readonly string[];
  searchers?: number;
  writers?: number;
}) {
  const search = grpcClient(Search, opts.port);
  const insert = grpcClient(Insert, opts.port);
  const update = grpcClient(Update, opts.port);
  const remove = grpcClient(Remove, opts.port);
  const stats: LoadStats = { searches: 0, inserts: 0, updates: 0, removes: 0, failures: [], misses: [], approximate: 0, duplicates: 0 };
  /** last acknowledged vector per id the load wrote (inserted or updated) */
  const written = new Map<string, number[]>();
  const removed = new Set<string>();
  const toRemove = [...opts.removable];
  let stopped = false;
  let seq = 0;
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const vec = () => Array.from({ length: opts.dim }, rnd);
  const fail = (what: string, e: unknown) => stats.failures.push(`${what}: ${(e as Error).message}`);
  const opt = { timeoutMs: 10_000 };

  const searcher = async () => {
    while (!stopped) {
      const q = opts.stable[Math.floor(rnd() * opts.stable.length)]!;
      try {
        const r = await search.search({ vector: q.vector, config: { num: 5, timeout: 3_000_000_000n } }, opt);
        stats.searches++;
        const ids = r.results.map((x) => x.id);
        if (new Set(ids).size !== ids.length) stats.duplicates++;
        if (ids[0] !== q.id) {
          const exact = await search.linearSearch({ vector: q.vector, config: { num: 1, timeout: 3_000_000_000n } }, opt);
          if (exact.results[0]?.id === q.id) stats.approximate++;
          else stats.misses.push(`${q.id} → ${ids.join(",")} (exact: ${exact.results[0]?.id})`);
        }
      } catch (e) {
        fail(`search ${q.id}`, e);
      }
    }
  };
  const writer = async (w: number) => {
    while (!stopped) {
      const k = seq++ % 4;
      try {
        if (k === 0 || k === 2) {
          const id = `load-${w}-${seq}`;
          const v = vec();
          await insert.insert({ vector: { id, vector: v }, config: {} }, opt);
          written.set(id, v.map(Math.fround));
          stats.inserts++;
        } else if (k === 1) {
          const id = opts.mutable[Math.floor(rnd() * opts.mutable.length)]!;
          const v = vec();
          await update.update({ vector: { id, vector: v }, config: {} }, opt);
          written.set(id, v.map(Math.fround));
          stats.updates++;
        } else if (toRemove.length > 0) {
          const id = toRemove.pop()!;
          await remove.remove({ id: { id } }, opt);
          removed.add(id);
          stats.removes++;
        }
      } catch (e) {
        fail(`write ${k}`, e);
      }
      await Bun.sleep(2);
    }
  };
  const running = [
    ...Array.from({ length: opts.searchers ?? 2 }, searcher),
    ...Array.from({ length: opts.writers ?? 1 }, (_, w) => writer(w)),
  ];
  return {
    stats,
    written,
    removed,
    async stop(): Promise<LoadStats> {
      stopped = true;
      await Promise.all(running);
      return stats;
    },
  };
}

/** the vector an agent holds for id, asked on its own port */
export async function vectorOn(agent: AgentProc, id: string): Promise<number[] | undefined> {
  try {
    return (await grpcClient(Object$, agent.grpcPort).getObject({ id: { id } })).vector;
  } catch {
    return undefined;
  }
}
