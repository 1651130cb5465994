// Seeded random vectors for the index tests: the same data on every run.
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomVectors(n: number, dims: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n * dims);
  for (let i = 0; i < out.length; i++) out[i] = r() * 2 - 1;
  return out;
}

/** Standard normal components (Box–Muller): hard data for HNSW, with outliers its heuristic strands. */
export function gaussianVectors(n: number, dims: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n * dims);
  for (let i = 0; i < out.length; i += 2) {
    const m = Math.sqrt(-2 * Math.log(1 - r()));
    const a = 2 * Math.PI * r();
    out[i] = m * Math.cos(a);
    if (i + 1 < out.length) out[i + 1] = m * Math.sin(a);
  }
  return out;
}
