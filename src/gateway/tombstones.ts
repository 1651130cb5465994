// Removes the repair must not undo. An agent that was away (or silent) when an id was
// removed still holds it when it comes back, and to the repair that copy looks like an
// under-replicated id to copy back. So while some agent may have missed removes, the
// gateway remembers them: which ids (or which timestamp conditions, or a flush) and
// which agents did answer. A copy held only by agents that did not answer is a
// leftover and is dropped instead of copied; an agent that answered and holds the id
// again got it from a later write. Kept until every known agent is connected and a
// clean scan has run, and at most MAX_IDS ids (oldest first out, with a warning).
import { Remove_Timestamp_Operator, type Remove_Timestamp } from "../gen/payload/v1/payload_pb";
import type { Logger } from "../observe/log";

const MAX_IDS = 1_000_000;

export interface CopyView {
  agent: string;
  ts: bigint;
}

interface Mark {
  answered: ReadonlySet<string>;
  /** gateway clock (ns) when it happened: copies written later are not its leftovers */
  at: bigint;
}

interface Filter extends Mark {
  conditions: readonly Remove_Timestamp[];
}

export interface Tombstones {
  /** ids removed; `answered` = agents that applied the remove or did not hold the id; `everyone` = all asked answered */
  removed(ids: readonly string[], answered: ReadonlySet<string>, everyone: boolean): void;
  removedWhere(conditions: readonly Remove_Timestamp[], answered: ReadonlySet<string>, everyone: boolean): void;
  flushed(answered: ReadonlySet<string>, everyone: boolean): void;
  /** whether these copies (all there are) are leftovers of a remove */
  isLeftover(id: string, copies: readonly CopyView[]): boolean;
  /** every agent is connected and reconciled: forget what is older than `before` (ns) */
  prune(before: bigint): void;
  readonly size: number;
}

const { LE, LT } = Remove_Timestamp_Operator;
const MATCH = [
  (s: bigint, w: bigint) => s === w,
  (s: bigint, w: bigint) => s !== w,
  (s: bigint, w: bigint) => s >= w,
  (s: bigint, w: bigint) => s > w,
  (s: bigint, w: bigint) => s <= w,
  (s: bigint, w: bigint) => s < w,
];

/** `missing()`: whether some known agent is not connected now (then every remove is remembered) */
export function createTombstones(missing: () => boolean, log: Logger, now: () => bigint = () => BigInt(Date.now()) * 1_000_000n): Tombstones {
  const ids = new Map<string, Mark>();
  let filters: Filter[] = [];
  let flushes: Mark[] = [];
  const sets = new Map<string, ReadonlySet<string>>();
  let warned = false;
  // One set object per distinct set of agents, not one per remove.
  const intern = (s: ReadonlySet<string>) => {
    const key = [...s].sort().join("\u0000");
    let v = sets.get(key);
    if (v === undefined) sets.set(key, (v = new Set(s)));
    return v;
  };
  const wanted = (everyone: boolean) => !everyone || missing();
  const unseen = (m: Mark, copies: readonly CopyView[]) => copies.every((c) => !m.answered.has(c.agent) && c.ts <= m.at);
  return {
    removed(list, answered, everyone) {
      if (!wanted(everyone)) return;
      const mark = { answered: intern(answered), at: now() };
      for (const id of list) {
        ids.delete(id);
        ids.set(id, mark);
      }
      while (ids.size > MAX_IDS) {
        ids.delete(ids.keys().next().value!);
        if (!warned) {
          warned = true;
          log.warn("too many removes while agents were away: the oldest are forgotten; if those agents come back, ids removed meanwhile may reappear", { kept: MAX_IDS });
        }
      }
    },
    removedWhere(conditions, answered, everyone) {
      if (!wanted(everyone)) return;
      const f = { conditions: [...conditions], answered: intern(answered), at: now() };
      // A sweep of --ttl repeats "older than t" with a growing t: the newest covers the others.
      const only = f.conditions.length === 1 ? f.conditions[0]! : undefined;
      const covered = (g: Filter) =>
        only !== undefined && g.answered === f.answered && g.conditions.length === 1 && g.conditions[0]!.operator === only.operator && (only.operator === LT || only.operator === LE) && g.conditions[0]!.timestamp <= only.timestamp;
      filters = filters.filter((g) => !covered(g));
      filters.push(f);
    },
    flushed(answered, everyone) {
      if (wanted(everyone)) flushes.push({ answered: intern(answered), at: now() });
    },
    isLeftover(id, copies) {
      if (copies.length === 0) return false;
      const m = ids.get(id);
      if (m !== undefined && unseen(m, copies)) return true;
      for (const f of flushes) if (unseen(f, copies)) return true;
      for (const f of filters) {
        if (unseen(f, copies) && copies.every((c) => f.conditions.every((k) => MATCH[k.operator]?.(c.ts, k.timestamp) ?? false))) return true;
      }
      return false;
    },
    prune(before) {
      for (const [id, m] of ids) if (m.at < before) ids.delete(id);
      filters = filters.filter((f) => f.at >= before);
      flushes = flushes.filter((f) => f.at >= before);
      if (ids.size === 0 && filters.length === 0 && flushes.length === 0) {
        sets.clear();
        warned = false;
      }
    },
    get size() {
      return ids.size + filters.length + flushes.length;
    },
  };
}

/** No repair: nothing to remember. */
export const noTombstones: Tombstones = {
  removed() {},
  removedWhere() {},
  flushed() {},
  isLeftover: () => false,
  prune() {},
  size: 0,
};
