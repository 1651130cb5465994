// Carries out planned fixes in batches: read the newest version from its holder
// (Fetch), write it where it is missing or stale (Put, kept only if newer than what the
// agent has), then drop the surplus copies (Drop, only if not newer than what was
// copied). Each batch holds its ids against client writes through this server
// (id-locks.ts), so a write never interleaves with a copy of the same id; with several
// servers the timestamp conditions keep a racing write's value. Copies are paced to
// --repair-rate.
import type { Object_Vector } from "../../gen/payload/v1/payload_pb";
import type { AgentHandle } from "../../gateway/agents";
import type { IdLocks } from "../../gateway/id-locks";
import type { SearchBarrier } from "../../gateway/search-barrier";
import type { Fix } from "./plan";
import type { Pace } from "./pace";

/** ids per batch: one Fetch/Put/Drop per agent and batch */
export const BATCH = 256;
const CALL_TIMEOUT_MS = 30_000;

export interface Applied {
  /** copies written where one was missing or stale */
  repaired: number;
  /** copies moved (written elsewhere, then dropped here) for balance or a drain */
  moved: number;
  /** surplus copies dropped */
  trimmed: number;
  /** fixes whose every step succeeded (the id is as planned) */
  done: Fix[];
  /** fixes that could not be completed (an agent failed); the next pass sees them again */
  failed: number;
}

export interface ApplyContext {
  peers: readonly AgentHandle[];
  locks: IdLocks;
  pace: Pace;
  signal: AbortSignal;
  /** the gateway's searches in flight (absent: no gateway searches to wait for) */
  searches?: SearchBarrier;
  /** after each batch, for progress reports */
  onBatch?(a: Applied): void;
  /** before each batch: false stops here (the repair lease was lost) */
  stillHeld?(): Promise<boolean>;
}

function group<T>(items: Iterable<[number, T]>): Map<number, T[]> {
  const m = new Map<number, T[]>();
  for (const [k, v] of items) {
    let l = m.get(k);
    if (l === undefined) m.set(k, (l = []));
    l.push(v);
  }
  return m;
}

export async function applyFixes(fixes: readonly Fix[], ctx: ApplyContext): Promise<Applied> {
  const total: Applied = { repaired: 0, moved: 0, trimmed: 0, done: [], failed: 0 };
  for (let i = 0; i < fixes.length && !ctx.signal.aborted; i += BATCH) {
    const batch = fixes.slice(i, i + BATCH);
    await ctx.pace.take(batch.reduce((n, f) => n + f.puts.length, 0), ctx.signal);
    if (ctx.signal.aborted || (ctx.stillHeld !== undefined && !(await ctx.stillHeld()))) break;
    const release = await ctx.locks.acquire(batch.map((f) => f.id));
    let a: Applied;
    try {
      a = await applyBatch(batch, ctx);
    } finally {
      release();
    }
    total.repaired += a.repaired;
    total.moved += a.moved;
    total.trimmed += a.trimmed;
    total.failed += a.failed;
    total.done.push(...a.done);
    ctx.onBatch?.(a);
  }
  return total;
}

async function applyBatch(batch: readonly Fix[], ctx: ApplyContext): Promise<Applied> {
  const out: Applied = { repaired: 0, moved: 0, trimmed: 0, done: [], failed: 0 };
  const opts = { signal: ctx.signal, timeoutMs: CALL_TIMEOUT_MS };
  const broken = new Set<Fix>();
  const gone = new Set<Fix>();

  // 1. the newest vectors, from their holders
  const vectors = new Map<string, Object_Vector>();
  const reads = group(batch.filter((f) => f.puts.length > 0).map((f) => [f.source, f] as [number, Fix]));
  await Promise.all(
    [...reads].map(async ([peer, fs]) => {
      try {
        const r = await ctx.peers[peer]!.clients.replica.fetch({ ids: fs.map((f) => f.id) }, opts);
        for (const v of r.vectors) vectors.set(v.id, v);
      } catch {
        for (const f of fs) broken.add(f);
      }
    }),
  );
  for (const f of batch) {
    // removed since the listing: nothing to copy, and nothing to trim either
    if (f.puts.length > 0 && !broken.has(f) && !vectors.has(f.id)) gone.add(f);
  }

  // 2. copies where they are missing or stale
  const writes = group(
    batch.flatMap((f) => (broken.has(f) || gone.has(f) ? [] : f.puts.map((p) => [p.peer, { f, why: p.why }] as [number, { f: Fix; why: string }]))),
  );
  await Promise.all(
    [...writes].map(async ([peer, items]) => {
      try {
        const r = await ctx.peers[peer]!.clients.replica.put({ vectors: items.map((it) => vectors.get(it.f.id)!) }, opts);
        items.forEach((it, k) => {
          if (r.applied[k] !== true) return;
          ctx.peers[peer]!.adjustStored(1);
          if (it.why !== "move") out.repaired++;
        });
      } catch {
        for (const it of items) broken.add(it.f);
      }
    }),
  );

  // 3. surplus copies, once the copies they rely on are in place and every search that
  // might have missed those copies is over; never newer than what was copied
  if (ctx.searches !== undefined && writes.size > 0 && batch.some((f) => f.drops.length > 0)) await ctx.searches.drain();
  const drops = group(
    batch.flatMap((f) => (broken.has(f) || gone.has(f) ? [] : f.drops.map((d) => [d.peer, { f, why: d.why }] as [number, { f: Fix; why: string }]))),
  );
  await Promise.all(
    [...drops].map(async ([peer, items]) => {
      try {
        const r = await ctx.peers[peer]!.clients.replica.drop({ items: items.map((it) => ({ id: it.f.id, timestamp: vectors.get(it.f.id)?.timestamp ?? it.f.ts })) }, opts);
        items.forEach((it, k) => {
          if (r.dropped[k] !== true) return;
          ctx.peers[peer]!.adjustStored(-1);
          if (it.why === "move" || (it.why === "drain" && it.f.puts.some((p) => p.why === "move"))) out.moved++;
          else out.trimmed++;
        });
      } catch {
        for (const it of items) broken.add(it.f);
      }
    }),
  );
  for (const f of batch) {
    if (broken.has(f)) out.failed++;
    else out.done.push(f);
  }
  return out;
}
