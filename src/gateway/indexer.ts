// Cluster-wide index maintenance, driven from the server: every checkIndexIntervalMs
// it asks agents with enough uncommitted vectors (or whose writes have gone quiet) to
// CreateIndex, one agent at a time so the others keep full search capacity; every
// saveIntervalMs it asks every agent to SaveIndex (agents without an index path
// answer at once). Each tick also refreshes the stored counts placement uses.
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "../observe/log";
import type { AgentHandle, AgentSet } from "./agents";

export interface IndexerOptions {
  /** 0 = no CreateIndex from the gateway */
  checkIndexIntervalMs: number;
  /** uncommitted vectors that make an agent due at once (0 = only when writes go quiet) */
  createIndexThreshold: number;
  /** 0 = no periodic SaveIndex */
  saveIntervalMs: number;
  log: Logger;
  /** CreateIndex pool_size hint (0 = the agent decides) */
  poolSize?: number;
  /** bound on IndexInfo calls (ms) */
  infoTimeoutMs?: number;
}

export interface Indexer {
  start(): void;
  /** stops the timers and cancels a CreateIndex/SaveIndex in flight */
  stop(): Promise<void>;
  /** one CreateIndex round now (what the timer does); resolves when it is done */
  tick(): Promise<string[]>;
  /** one SaveIndex round now */
  save(): Promise<string[]>;
}

export function createIndexer(agents: AgentSet, opts: IndexerOptions): Indexer {
  const log = opts.log.with({ component: "indexer" });
  const lastUncommitted = new Map<string, number>();
  let ac = new AbortController();
  let timers: ReturnType<typeof setTimeout>[] = [];
  let running: Promise<unknown> = Promise.resolve();
  let stopped = true;

  /** Serialises rounds: index and save never overlap, so at most one agent is busy. */
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const next = running.then(work, work);
    running = next.catch(() => {});
    return next;
  };

  const report = (what: string, agent: AgentHandle, e: unknown) => {
    const err = ConnectError.from(e);
    if (err.code === Code.Unavailable || err.code === Code.Canceled) log.debug(`${what} skipped`, { agent: agent.name, err: err.rawMessage });
    else log.warn(`${what} failed`, { agent: agent.name, code: Code[err.code], err: err.rawMessage });
  };

  async function due(): Promise<AgentHandle[]> {
    const list = agents.list();
    const infos = await Promise.all(
      list.map(async (agent) => {
        try {
          const c = await agent.clients.index.indexInfo({}, { signal: ac.signal, timeoutMs: opts.infoTimeoutMs ?? 5000 });
          agent.setStored(c.stored + c.uncommitted);
          return { agent, c };
        } catch (e) {
          report("IndexInfo", agent, e);
          return undefined;
        }
      }),
    );
    const out: { agent: AgentHandle; n: number }[] = [];
    const seen = new Set<string>();
    for (const i of infos) {
      if (i === undefined) continue;
      const { agent, c } = i;
      seen.add(agent.name);
      const prev = lastUncommitted.get(agent.name);
      lastUncommitted.set(agent.name, c.uncommitted);
      if (c.indexing || c.uncommitted === 0) continue;
      const big = opts.createIndexThreshold > 0 && c.uncommitted >= opts.createIndexThreshold;
      const quiet = prev !== undefined && c.uncommitted <= prev;
      if (big || quiet) out.push({ agent, n: c.uncommitted });
    }
    for (const name of lastUncommitted.keys()) if (!seen.has(name)) lastUncommitted.delete(name);
    // The most behind first.
    return out.sort((a, b) => b.n - a.n).map((x) => x.agent);
  }

  const tick = () =>
    exclusive(async () => {
      const done: string[] = [];
      for (const agent of await due()) {
        if (ac.signal.aborted) break;
        const t0 = performance.now();
        try {
          await agent.clients.agent.createIndex({ poolSize: opts.poolSize ?? 0 }, { signal: ac.signal });
          lastUncommitted.set(agent.name, 0);
          done.push(agent.name);
          log.debug("CreateIndex done", { agent: agent.name, ms: Math.round(performance.now() - t0) });
        } catch (e) {
          report("CreateIndex", agent, e);
        }
      }
      return done;
    });

  const save = () =>
    exclusive(async () => {
      const done: string[] = [];
      for (const agent of agents.list()) {
        if (ac.signal.aborted) break;
        try {
          await agent.clients.agent.saveIndex({}, { signal: ac.signal });
          done.push(agent.name);
        } catch (e) {
          report("SaveIndex", agent, e);
        }
      }
      return done;
    });

  const every = (ms: number, round: () => Promise<unknown>) => {
    if (ms <= 0) return;
    const schedule = () => {
      const t = setTimeout(async () => {
        timers = timers.filter((x) => x !== t);
        await round().catch((e: unknown) => log.warn("index round failed", { err: e }));
        if (!stopped) schedule();
      }, ms);
      (t as { unref?: () => void }).unref?.();
      timers.push(t);
    };
    schedule();
  };

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      ac = new AbortController();
      every(opts.checkIndexIntervalMs, tick);
      every(opts.saveIntervalMs, save);
    },
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers = [];
      ac.abort(new ConnectError("indexer stopped", Code.Canceled));
      await running;
    },
    tick,
    save,
  };
}
