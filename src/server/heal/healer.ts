// The server's self-healing loop. Each pass walks the id hash space range by range:
// every agent lists the range (ids + timestamps), plan.ts decides per id, apply.ts
// copies, corrects and trims, paced to --repair-rate. Passes run when membership
// changes, when a write ended short, on a drain, right after a pass that changed
// something (to confirm it), and every --repair-interval otherwise.
//
// Copies are only created when every known agent is connected or lost: the copies of
// an agent that is merely away (restarting) still count, so nothing is copied for it
// until --agent-lost-after has passed. For the same reason nothing changes during the
// first --agent-lost-after after the server starts (agents may still be dialling in).
import { Code, ConnectError } from "@connectrpc/connect";
import type { AgentPool } from "../../gateway/agents";
import type { Coverage } from "../../gateway/coverage";
import type { IdLocks } from "../../gateway/id-locks";
import type { SearchBarrier } from "../../gateway/search-barrier";
import type { Tombstones } from "../../gateway/tombstones";
import type { Logger } from "../../observe/log";
import type { Registry } from "../../observe/prom";
import { applyFixes, type Applied } from "./apply";
import { createRepairLease, LEASE_TTL_MS, type RepairLease } from "./lease";
import type { Membership } from "./membership";
import { healMetrics } from "./metrics";
import { Pace, sleep } from "./pace";
import { planId, unbalanced, type Fix, type Peer, type PlanContext } from "./plan";
import { listRange, relist } from "./scan";

/** copies listed per range: bounds the server's memory per scan step (~25 MB) */
export const RANGE_COPIES = 262_144;
const PROGRESS_EVERY_MS = 5000;
/** outside ±10 % of the mean, a join or an emptier agent starts moving copies */
const BALANCE_TOLERANCE = 0.1;
const MAX_BACKOFF_MS = 30_000;

export interface HealerOptions {
  pool: AgentPool;
  membership: Membership;
  locks: IdLocks;
  coverage: Coverage;
  searches?: SearchBarrier;
  tombstones?: Tombstones;
  replicas: number;
  /** copies per second; 0 = unpaced */
  repairRate: number;
  rebalance: boolean;
  /** no changes this long after start (agents may still be reconnecting) */
  startGraceMs: number;
  /** a full scan at least this often (ms); 0 = only when something triggers one */
  intervalMs: number;
  registry: Registry;
  log: Logger;
  lease?: RepairLease;
  rangeCopies?: number;
}

export interface HealStatus {
  underreplicated: number;
  overreplicated: number;
  stale: number;
  repaired: number;
  moved: number;
  trimmed: number;
  passes: number;
  repairing: boolean;
  leaseHeld: boolean;
  /** ms since the epoch; 0 = no complete scan yet */
  lastPassMs: number;
  target: number;
  /** some of the under-replicated ids (at most UNDER_SAMPLE), with the copies the scan found */
  underSample: { id: string; copies: number }[];
}

/** under-replicated ids the status names, so an operator can look one up */
const UNDER_SAMPLE = 100;

export interface Healer {
  start(): void;
  stop(): Promise<void>;
  /** run a pass soon */
  trigger(reason: string): void;
  status(): HealStatus;
  /** mark an agent draining (or take it back) on the agent itself, so every server sees it */
  setDraining(name: string, draining: boolean): Promise<void>;
}

type PassResult = "idle" | "no-lease" | "blocked" | "grace" | "clean" | "worked" | "stuck";

interface Episode {
  started: number;
  repaired: number;
  moved: number;
  trimmed: number;
  lastLog: number;
}

export function createHealer(o: HealerOptions): Healer {
  const log = o.log.with({ component: "repair" });
  const metrics = healMetrics(o.registry, o.membership, o.pool);
  const lease = o.lease ?? createRepairLease();
  const pace = new Pace(o.repairRate);
  const rangeCopies = o.rangeCopies ?? RANGE_COPIES;
  const startedAt = performance.now();
  let ac = new AbortController();
  let stopped = true;
  let loop: Promise<void> = Promise.resolve();
  let pending = true;
  let wake: (() => void) | undefined;
  let running = false;
  let rangeUnder: number[] = [];
  // per range: some of its under-replicated ids → copies found; fixed ones leave
  let rangeSample: Map<string, number>[] = [];
  let episode: Episode | undefined;
  let waitingFor = "";
  let backoff = 0;
  const st: Omit<HealStatus, "underSample"> = { underreplicated: 0, overreplicated: 0, stale: 0, repaired: 0, moved: 0, trimmed: 0, passes: 0, repairing: false, leaseHeld: false, lastPassMs: 0, target: 0 };

  const publishUnder = () => {
    st.underreplicated = rangeUnder.reduce((a, b) => a + b, 0);
    metrics.underreplicated.set(st.underreplicated);
  };

  const counted = (a: Applied) => {
    st.repaired += a.repaired;
    st.moved += a.moved;
    st.trimmed += a.trimmed;
    metrics.repaired.inc(a.repaired);
    metrics.moved.inc(a.moved);
    metrics.trimmed.inc(a.trimmed);
    if (episode === undefined) return;
    episode.repaired += a.repaired;
    episode.moved += a.moved;
    episode.trimmed += a.trimmed;
    const now = performance.now();
    if (now - episode.lastLog >= PROGRESS_EVERY_MS) {
      const secs = (now - episode.started) / 1000;
      log.info("repair progress", {
        underreplicated: st.underreplicated,
        repaired: episode.repaired,
        moved: episode.moved,
        trimmed: episode.trimmed,
        perSecond: Math.round((episode.repaired + episode.moved) / Math.max(secs, 0.001)),
      });
      episode.lastLog = now;
    }
  };

  const say = (what: string, fields: Record<string, unknown>) => {
    // one line per reason to wait, not one per pass
    if (waitingFor === what) return;
    waitingFor = what;
    log.info(what, fields);
  };

  async function pass(): Promise<PassResult> {
    const agents = o.pool.list();
    if (agents.length === 0) return "idle";
    const signal = ac.signal;
    if (!(await lease.acquire(agents, signal))) {
      st.leaseHeld = false;
      metrics.leaseHeld.set(0);
      metrics.underreplicated.set(0);
      say("another server holds the repair lease; it repairs", { holder: lease.other ?? "unknown" });
      return "no-lease";
    }
    st.leaseHeld = true;
    metrics.leaseHeld.set(1);
    const states = await Promise.all(agents.map((a) => a.clients.replica.state({}, { signal, timeoutMs: 5000 }).catch(() => undefined)));
    const silent = agents.filter((_, i) => states[i] === undefined).map((a) => a.name);
    if (silent.length > 0) {
      say("repair paused: an agent does not answer alvd.cluster.v1.Replica/State (busy, or an older alvd without it)", { agents: silent.join(",") });
      return "stuck";
    }
    const peers: Peer[] = agents.map((a, i) => {
      const s = states[i]!;
      a.setDraining(s.draining);
      a.setStored(Number(s.stored));
      return { name: a.name, draining: s.draining, load: Number(s.stored) };
    });
    const away = o.membership.away().filter((m) => o.pool.get(m.name) === undefined);
    const open = peers.filter((p) => !p.draining).length;
    const target = Math.min(o.replicas, open);
    st.target = target;
    const inGrace = performance.now() - startedAt < o.startGraceMs;
    const mayChange = away.length === 0 && !inGrace && open > 0;
    if (away.length > 0) {
      say("repair waits: an agent is away and its copies still count until it is lost", { away: away.map((m) => m.name).join(","), sinceSeconds: Math.round((Date.now() - Math.min(...away.map((m) => m.lastSeen))) / 1000) });
    } else waitingFor = "";
    const balancing = o.rebalance && mayChange && unbalanced(peers, BALANCE_TOLERANCE);
    const tombs = o.tombstones;
    const leftover =
      tombs !== undefined && tombs.size > 0 ? (id: string, hs: readonly { peer: number; ts: bigint }[]) => tombs.isLeftover(id, hs.map((h) => ({ agent: peers[h.peer]!.name, ts: h.ts }))) : undefined;
    const ctx: PlanContext = { peers, target, mayChange, balancing, leftover };
    const passStartNs = BigInt(Date.now()) * 1_000_000n;
    const total = peers.reduce((n, p) => n + p.load, 0);
    const ranges = Math.max(1, Math.ceil(total / rangeCopies));
    if (rangeUnder.length !== ranges) {
      rangeUnder = new Array<number>(ranges).fill(0);
      rangeSample = Array.from({ length: ranges }, () => new Map<string, number>());
    }
    const token = o.coverage.scanStarted();
    let complete = true;
    let planned = 0;
    let done = 0;
    let failed = 0;
    let over = 0;
    let stale = 0;
    for (let r = 0; r < ranges && !signal.aborted; r++) {
      if (!(await lease.keep(agents, signal))) {
        complete = false;
        break;
      }
      let listing;
      const writes = o.locks.watch();
      try {
        listing = await listRange(agents, r, ranges, signal);
        if (writes.everything) {
          // a Flush or RemoveByTimestamp ran meanwhile: this listing says nothing reliable
          complete = false;
          break;
        }
        await relist(agents, listing, writes.ids, o.locks, signal);
      } catch (e) {
        if (!signal.aborted) log.warn("repair scan could not list every agent; retrying", { range: `${r + 1}/${ranges}`, err: ConnectError.from(e).rawMessage });
        complete = false;
        break;
      } finally {
        writes.stop();
      }
      const fixes: Fix[] = [];
      const fixesUnder = new Set<Fix>();
      let under = 0;
      const sample = new Map<string, number>();
      for (const [id, holdings] of listing) {
        const v = planId(id, holdings, ctx);
        if (v.under) {
          under++;
          if (sample.size < UNDER_SAMPLE) sample.set(id, holdings.length);
        }
        if (v.over) over++;
        stale += v.stale;
        if (v.fix !== undefined) {
          fixes.push(v.fix);
          if (v.under) fixesUnder.add(v.fix);
        }
      }
      listing.clear();
      rangeUnder[r] = under;
      rangeSample[r] = sample;
      publishUnder();
      if (fixes.length === 0) continue;
      planned += fixes.length;
      if (episode === undefined) {
        const now = performance.now();
        episode = { started: now, repaired: 0, moved: 0, trimmed: 0, lastLog: now };
        log.info("repair started", {
          underreplicated: under,
          fixes: fixes.length,
          target,
          range: `${r + 1}/${ranges}`,
          draining: peers.filter((p) => p.draining).map((p) => p.name).join(",") || "none",
          balancing,
          ratePerSecond: o.repairRate || "unlimited",
        });
      }
      st.repairing = true;
      const res = await applyFixes(fixes, {
        peers: agents,
        locks: o.locks,
        searches: o.searches,
        pace,
        signal,
        stillHeld: () => lease.keep(agents, signal),
        onBatch: (a) => {
          const fixed = a.done.filter((f) => fixesUnder.has(f));
          rangeUnder[r] = Math.max(0, rangeUnder[r]! - fixed.length);
          for (const f of fixed) sample.delete(f.id);
          publishUnder();
          counted(a);
        },
      });
      done += res.done.length;
      failed += res.failed;
    }
    st.repairing = false;
    st.overreplicated = over;
    st.stale = stale;
    metrics.stale.set(stale);
    if (complete) {
      st.passes++;
      st.lastPassMs = Date.now();
      metrics.passes.inc();
    }
    if (complete && failed === 0 && st.underreplicated === 0 && away.length === 0) o.coverage.clean(token, target);
    // Every agent back and reconciled: the removes it might have missed are applied.
    if (complete && failed === 0 && mayChange && o.membership.list().every((m) => m.state === "connected")) o.tombstones?.prune(passStartNs);
    else if (st.underreplicated > 0) o.coverage.degraded();
    if (!complete || failed > 0) return done > 0 ? "worked" : "stuck";
    if (planned > 0) return "worked";
    if (away.length > 0) return "blocked";
    if (inGrace) return "grace";
    return "clean";
  }

  const idle = (ms: number) =>
    new Promise<void>((resolve) => {
      const t =
        ms > 0
          ? setTimeout(() => {
              wake = undefined;
              resolve();
            }, ms)
          : undefined;
      wake = () => {
        if (t !== undefined) clearTimeout(t);
        wake = undefined;
        resolve();
      };
    });

  async function run(): Promise<void> {
    let waitMs = o.intervalMs;
    while (!stopped) {
      if (!pending) await idle(waitMs);
      if (stopped) break;
      pending = false;
      running = true;
      let r: PassResult;
      try {
        r = await pass();
      } catch (e) {
        if (stopped) break;
        log.warn("repair pass failed", { err: ConnectError.from(e).rawMessage });
        r = "stuck";
      } finally {
        running = false;
      }
      if (stopped) break;
      if (r === "clean" && episode !== undefined) {
        log.info("repair done", {
          repaired: episode.repaired,
          moved: episode.moved,
          trimmed: episode.trimmed,
          seconds: Math.round((performance.now() - episode.started) / 100) / 10,
          underreplicated: st.underreplicated,
        });
        episode = undefined;
      }
      // What to wait for before the next pass; a trigger (membership, drain, short
      // write) cuts any wait short.
      waitMs = o.intervalMs;
      if (r === "worked") {
        backoff = 0;
        pending = true;
      } else if (r === "stuck") {
        backoff = Math.min(MAX_BACKOFF_MS, backoff === 0 ? 1000 : backoff * 2);
        waitMs = backoff;
      } else if (r === "no-lease") waitMs = LEASE_TTL_MS;
      else if (r === "grace") waitMs = Math.max(0, o.startGraceMs - (performance.now() - startedAt)) + 10;
      else backoff = 0;
    }
  }

  const unsubscribe: (() => void)[] = [];
  const healer: Healer = {
    start() {
      if (!stopped) return;
      stopped = false;
      ac = new AbortController();
      unsubscribe.push(o.membership.onEvent((e) => healer.trigger(`agent ${e.kind}`)));
      loop = run();
    },
    async stop() {
      stopped = true;
      for (const u of unsubscribe.splice(0)) u();
      ac.abort(new ConnectError("server stopping", Code.Canceled));
      wake?.();
      await loop;
      if (st.leaseHeld) await lease.release(o.pool.list());
    },
    trigger(_reason) {
      pending = true;
      if (!running) wake?.();
    },
    status: () => {
      const underSample: HealStatus["underSample"] = [];
      for (const m of rangeSample) {
        for (const [id, copies] of m) {
          if (underSample.length >= UNDER_SAMPLE) break;
          underSample.push({ id, copies });
        }
      }
      return { ...st, underSample };
    },
    async setDraining(name, draining) {
      const agent = o.pool.get(name);
      if (agent === undefined) throw new ConnectError(`agent ${JSON.stringify(name)} is not connected`, Code.NotFound);
      const s = await agent.clients.replica.setDraining({ draining }, { timeoutMs: 5000 });
      agent.setDraining(s.draining);
      healer.trigger(draining ? "drain" : "drain cancelled");
    },
  };
  return healer;
}
