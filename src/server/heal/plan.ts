// What the repair does about one id, decided from the listing alone (no vectors): which
// agents should get a copy and which copies go. Pure and synchronous, so the rules are
// tested without a cluster:
// - the newest timestamp wins: copies behind it are stale and get the newest version
//   (or are dropped, when enough fresh copies exist);
// - every id ends on `target` non-draining agents: missing copies go to the least-loaded
//   agents that lack it, copies above the target are dropped from the most loaded;
// - draining agents' copies are dropped once the copies elsewhere are in place;
// - when balancing, one copy moves from an agent above the mean to one below it;
// - copies left over from a remove their agents missed are dropped.
// Drops always come after the puts of the same id succeeded, so no step leaves an id
// with fewer copies than it had.

export interface Peer {
  readonly name: string;
  readonly draining: boolean;
  /** copies held, as reported at the start of the pass plus what the pass planned since */
  load: number;
}

export interface Holding {
  /** index into the pass's peers */
  peer: number;
  ts: bigint;
}

export type PutReason = "repair" | "stale" | "move";
export type DropReason = "trim" | "drain" | "move";

export interface Fix {
  id: string;
  /** the newest timestamp listed */
  ts: bigint;
  /** a holder of the newest version, to read the vector from */
  source: number;
  puts: { peer: number; why: PutReason }[];
  drops: { peer: number; why: DropReason }[];
}

export interface Verdict {
  /** fewer non-draining copies than the target */
  under: boolean;
  /** more non-draining copies than the target */
  over: boolean;
  /** copies behind the newest timestamp */
  stale: number;
  /** undefined: nothing to do, or changes are not allowed now */
  fix: Fix | undefined;
}

export interface PlanContext {
  readonly peers: Peer[];
  /** copies each id should have: min(--replicas, non-draining agents) */
  readonly target: number;
  /** whether this pass may change anything (else it only counts) */
  readonly mayChange: boolean;
  /** move copies towards the mean load */
  readonly balancing: boolean;
  /** copies of a vector removed while their agents were away (tombstones.ts): dropped, never copied */
  readonly leftover?: (id: string, holdings: readonly Holding[]) => boolean;
}

const byLoad = (peers: readonly Peer[]) => (a: number, b: number) => peers[a]!.load - peers[b]!.load || a - b;

export function planId(id: string, holdings: readonly Holding[], ctx: PlanContext): Verdict {
  const { peers, target } = ctx;
  let newest = 0n;
  for (const h of holdings) if (h.ts > newest) newest = h.ts;
  const holders = new Set(holdings.map((h) => h.peer));
  const fresh: number[] = [];
  const staleLive: number[] = [];
  const draining: number[] = [];
  let stale = 0;
  for (const h of holdings) {
    if (h.ts !== newest) stale++;
    if (peers[h.peer]!.draining) draining.push(h.peer);
    else if (h.ts === newest) fresh.push(h.peer);
    else staleLive.push(h.peer);
  }
  if (ctx.leftover?.(id, holdings) === true) {
    if (!ctx.mayChange) return { under: false, over: false, stale: 0, fix: undefined };
    for (const h of holdings) peers[h.peer]!.load--;
    return { under: false, over: false, stale: 0, fix: { id, ts: newest, source: holdings[0]!.peer, puts: [], drops: holdings.map((h) => ({ peer: h.peer, why: "trim" as const })) } };
  }
  const live = fresh.length + staleLive.length;
  const under = live < target;
  const over = live > target;
  if (!ctx.mayChange || (!under && !over && stale === 0 && draining.length === 0 && !ctx.balancing)) return { under, over, stale, fix: undefined };

  const order = byLoad(peers);
  fresh.sort(order);
  staleLive.sort(order);
  const puts: Fix["puts"] = [];
  const drops: Fix["drops"] = [];
  // Keep the least-loaded fresh copies, drop the surplus from the most loaded.
  const keep = fresh.slice(0, target);
  for (const p of fresh.slice(target)) drops.push({ peer: p, why: "trim" });
  // Stale copies are brought up to date while copies are missing, else dropped.
  for (const p of staleLive) {
    if (keep.length < target) {
      puts.push({ peer: p, why: "stale" });
      keep.push(p);
    } else drops.push({ peer: p, why: "trim" });
  }
  const candidates = () => peers.map((_, i) => i).filter((i) => !holders.has(i) && !peers[i]!.draining && !puts.some((x) => x.peer === i)).sort(order);
  if (keep.length < target) {
    // Copies that replace a draining agent's are moves; the others are repairs.
    let replacing = draining.length;
    for (const p of candidates().slice(0, target - keep.length)) {
      puts.push({ peer: p, why: replacing-- > 0 ? "move" : "repair" });
      keep.push(p);
    }
  }
  // A draining agent's copy goes once the id is as replicated as it can be without it.
  if (keep.length > 0 && (keep.length >= target || candidates().length === 0)) {
    for (const p of draining) drops.push({ peer: p, why: "drain" });
  }
  if (ctx.balancing && puts.length === 0) {
    const move = balanceMove(peers, fresh.filter((p) => keep.includes(p)), candidates());
    if (move !== undefined) {
      puts.push({ peer: move.to, why: "move" });
      drops.push({ peer: move.from, why: "move" });
    }
  }
  if (puts.length === 0 && drops.length === 0) return { under, over, stale, fix: undefined };
  for (const p of puts) peers[p.peer]!.load++;
  for (const d of drops) peers[d.peer]!.load--;
  // Read from a fresh copy; a draining agent's will do when it holds the only one.
  const source = fresh[0] ?? holdings.find((h) => h.ts === newest)!.peer;
  return { under, over, stale, fix: { id, ts: newest, source, puts, drops } };
}

/** From the most loaded keeper above the mean to the least loaded agent below it, if that evens things out. */
function balanceMove(peers: readonly Peer[], keepers: readonly number[], candidates: readonly number[]): { from: number; to: number } | undefined {
  if (keepers.length === 0 || candidates.length === 0) return undefined;
  const mean = meanLoad(peers);
  let from = keepers[0]!;
  for (const k of keepers) if (peers[k]!.load > peers[from]!.load) from = k;
  const to = candidates[0]!;
  const hi = peers[from]!.load;
  const lo = peers[to]!.load;
  if (hi - mean >= 0.5 && mean - lo >= 0.5 && hi - lo >= 2) return { from, to };
  return undefined;
}

export function meanLoad(peers: readonly Peer[]): number {
  let sum = 0;
  let n = 0;
  for (const p of peers) {
    if (p.draining) continue;
    sum += p.load;
    n++;
  }
  return n === 0 ? 0 : sum / n;
}

/** Whether the non-draining agents' loads are outside ±tolerance of their mean. */
export function unbalanced(peers: readonly Peer[], tolerance: number): boolean {
  const mean = meanLoad(peers);
  if (mean < 1) return false;
  return peers.some((p) => !p.draining && Math.abs(p.load - mean) > tolerance * mean);
}
