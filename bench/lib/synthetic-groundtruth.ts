// Exact k nearest neighbours (squared L2) of a query sample over a synthetic base set,
// cached in bench/.cache/ per (mixture, base size, queries, k). At a million rows plain JS
// takes minutes, so the bulk is the addon's exact scan (`exactSearch`, a linear pass with
// SIMD kernels, no graph involved) over the f32 index the benchmark builds anyway; a few
// queries are checked against the plain-JS scan below so the two can never drift apart
// unnoticed.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { AnnIndex } from "../../src/index/types";
import { CACHE_DIR, type GroundTruth } from "./groundtruth";
import type { Mixture } from "./synthetic";

const CHUNK = 8192;

/**
 * Plain-JS exact k-NN of `queries` (row-major) over base rows [0, n) of the mixture,
 * generated in chunks: every query meets each chunk while it is in cache.
 */
export function exactKnnJs(mix: Mixture, n: number, queries: Float32Array, k: number): GroundTruth {
  const d = mix.spec.dimension;
  const nq = queries.length / d;
  const best = new Float64Array(nq * k).fill(Number.POSITIVE_INFINITY);
  const ids = new Int32Array(nq * k).fill(-1);
  for (let from = 0; from < n; from += CHUNK) {
    const count = Math.min(CHUNK, n - from);
    const base = mix.rows("base", from, count);
    for (let q = 0; q < nq; q++) {
      const qo = q * d;
      const bo = q * k;
      for (let r = 0; r < count; r++) {
        const ro = r * d;
        const worst = best[bo + k - 1]!;
        let s = 0;
        for (let j = 0; j < d; j++) {
          const t = queries[qo + j]! - base[ro + j]!;
          s += t * t;
        }
        if (s >= worst) continue;
        let p = k - 1;
        while (p > 0 && best[bo + p - 1]! > s) {
          best[bo + p] = best[bo + p - 1]!;
          ids[bo + p] = ids[bo + p - 1]!;
          p--;
        }
        best[bo + p] = s;
        ids[bo + p] = from + r;
      }
    }
  }
  return { k, queries: nq, ids };
}

/** exact k-NN by the index's linear scan; keys must be the base row numbers */
export function exactKnnByIndex(index: AnnIndex, queries: Float32Array, k: number, log?: (m: string) => void): GroundTruth {
  const d = index.options.dimensions;
  const nq = queries.length / d;
  const ids = new Int32Array(nq * k);
  const t0 = performance.now();
  for (let q = 0; q < nq; q++) {
    const h = index.exactSearch(queries.subarray(q * d, (q + 1) * d), k);
    if (h.count !== k) throw new Error(`exact search returned ${h.count} of ${k} neighbours: the index holds fewer than k vectors`);
    for (let i = 0; i < k; i++) ids[q * k + i] = h.keys[i]!;
    if (q % 250 === 249) log?.(`  exact neighbours: ${q + 1}/${nq} queries (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  return { k, queries: nq, ids };
}

/**
 * Fraction of the k neighbours on which two exact answers agree, over their common
 * queries. Not always 1: float32 sums in a different order can swap near-ties.
 */
export function agreement(a: GroundTruth, b: GroundTruth): number {
  const nq = Math.min(a.queries, b.queries);
  let same = 0;
  for (let q = 0; q < nq; q++) {
    const want = new Set(a.ids.subarray(q * a.k, (q + 1) * a.k));
    for (const id of b.ids.subarray(q * b.k, (q + 1) * b.k)) if (want.has(id)) same++;
  }
  return same / (nq * a.k);
}

export interface SyntheticTruthOptions {
  n: number;
  queries: Float32Array;
  k: number;
  /** the f32 index over base rows [0, n), keyed by row number */
  index: () => AnnIndex;
  /** queries re-checked in plain JS when computing */
  spotCheck?: number;
  log?: (m: string) => void;
}

export function syntheticGroundTruth(mix: Mixture, o: SyntheticTruthOptions): GroundTruth {
  const d = mix.spec.dimension;
  const nq = o.queries.length / d;
  const path = join(CACHE_DIR, `${mix.id}-gt-n${o.n}-q${nq}-k${o.k}.i32`);
  if (existsSync(path)) {
    const b = readFileSync(path);
    const ids = new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    if (ids.length === nq * o.k) return { k: o.k, queries: nq, ids };
  }
  o.log?.(`computing exact neighbours (${nq} queries × ${o.n} base, k=${o.k}); cached in ${path}`);
  const gt = exactKnnByIndex(o.index(), o.queries, o.k, o.log);
  const check = Math.min(nq, o.spotCheck ?? 5);
  if (check > 0) {
    const js = exactKnnJs(mix, o.n, o.queries.subarray(0, check * d), o.k);
    const agree = agreement(js, gt);
    // a near-tie may swap one neighbour in a few queries; anything more is a real disagreement
    if (agree < 0.98) throw new Error(`exact neighbours disagree with the plain-JS scan on ${check} queries (${(agree * 100).toFixed(1)}% agree)`);
    o.log?.(`  checked ${check} queries against a plain-JS scan: ${(agree * 100).toFixed(1)}% of neighbours agree`);
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, gt.ids);
  return gt;
}
