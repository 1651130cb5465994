// Exact distances for vectors not yet in the HNSW graph. They must agree with the
// native kernels' definitions (usearch: l2sq = Σ(a-b)², cos = 1 - a·b/(|a||b|),
// ip = 1 - a·b) so staged and indexed hits sort together.
import type { Metric } from "../../index/types";

export type DistanceFn = (a: Float32Array, b: Float32Array) => number;

function l2sq(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    sum += d * d;
  }
  return sum;
}

function cos(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  if (aa === 0 || bb === 0) return aa === 0 && bb === 0 ? 0 : 1;
  return 1 - ab / Math.sqrt(aa * bb);
}

function ip(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  for (let i = 0; i < a.length; i++) ab += a[i]! * b[i]!;
  return 1 - ab;
}

export function distanceFor(metric: Metric): DistanceFn {
  switch (metric) {
    case "l2sq":
      return l2sq;
    case "cos":
      return cos;
    case "ip":
      return ip;
  }
}

/**
 * The distance clients see. Vald's agent-ngt reports L2 (not squared) for "l2", so the
 * squared kernel's output is rooted; the other metrics are reported as computed.
 */
export function reportedDistance(metric: Metric, raw: number): number {
  return metric === "l2sq" ? Math.sqrt(Math.max(0, raw)) : raw;
}
