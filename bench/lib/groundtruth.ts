// Exact k nearest neighbours (squared L2) by brute force in plain JS: independent of
// the index under test, computed once per (dataset, base size, queries, k) and cached.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Dataset } from "./dataset";

export const CACHE_DIR = join(import.meta.dir, "..", ".cache");

export interface GroundTruth {
  k: number;
  queries: number;
  /** row q holds the k nearest base indices of query q, nearest first */
  ids: Int32Array;
}

function topK(ds: Dataset, baseCount: number, q: number, k: number, outIds: Int32Array, offset: number): void {
  const d = ds.dimension;
  const best = new Float64Array(k).fill(Number.POSITIVE_INFINITY);
  const bestIds = new Int32Array(k).fill(-1);
  const qv = ds.test.subarray(q * d, (q + 1) * d);
  const base = ds.train;
  for (let i = 0; i < baseCount; i++) {
    let s = 0;
    const o = i * d;
    const worst = best[k - 1]!;
    for (let j = 0; j < d; j++) {
      const t = qv[j]! - base[o + j]!;
      s += t * t;
      // early exit: already worse than the current k-th
      if ((j & 63) === 63 && s > worst) break;
    }
    if (s < worst) {
      let p = k - 1;
      while (p > 0 && best[p - 1]! > s) {
        best[p] = best[p - 1]!;
        bestIds[p] = bestIds[p - 1]!;
        p--;
      }
      best[p] = s;
      bestIds[p] = i;
    }
  }
  outIds.set(bestIds, offset);
}

export function groundTruth(ds: Dataset, opts: { baseCount: number; queries: number; k: number; log?: (m: string) => void }): GroundTruth {
  const { baseCount, queries, k } = opts;
  const path = join(CACHE_DIR, `${ds.name}-gt-n${baseCount}-q${queries}-k${k}.i32`);
  if (existsSync(path)) {
    const b = readFileSync(path);
    return { k, queries, ids: new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)) };
  }
  opts.log?.(`computing exact ground truth (${queries} queries × ${baseCount} base, k=${k}); cached in ${path}`);
  const ids = new Int32Array(queries * k);
  const t0 = performance.now();
  for (let q = 0; q < queries; q++) {
    topK(ds, baseCount, q, k, ids, q * k);
    if (q % 200 === 199) opts.log?.(`  ${q + 1}/${queries} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, ids);
  return { k, queries, ids };
}

/** mean over queries of |found ∩ exact top-k| / k */
export function recallAtK(found: ArrayLike<number>[], gt: GroundTruth, k: number): number {
  if (k > gt.k) throw new Error(`ground truth has k=${gt.k}, recall@${k} asked`);
  let sum = 0;
  for (let q = 0; q < found.length; q++) {
    const exact = new Set(gt.ids.subarray(q * gt.k, q * gt.k + k));
    const f = found[q]!;
    let hit = 0;
    for (let i = 0; i < Math.min(k, f.length); i++) if (exact.has(f[i]!)) hit++;
    sum += hit / k;
  }
  return sum / found.length;
}
