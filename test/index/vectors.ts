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
