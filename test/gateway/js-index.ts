// Test-only AnnIndex: exact search in plain JS (squared L2), so gateway tests run the
// real agent engine and handlers without the native addon and get exact answers to
// compare with brute force.
import type { AnnIndex, IndexOptions, SearchHits } from "../../src/index/types";

export function openJsIndex(options: IndexOptions): AnnIndex {
  const rows = new Map<number, Float32Array>();
  const dist = (a: Float32Array, b: Float32Array) => {
    let s = 0;
    for (let i = 0; i < a.length; i++) {
      const d = a[i]! - b[i]!;
      s += d * d;
    }
    return s;
  };
  const search = (q: Float32Array, k: number): SearchHits => {
    const all = [...rows].map(([key, v]) => ({ key, d: dist(q, v) })).sort((x, y) => x.d - y.d).slice(0, k);
    return { keys: Float64Array.from(all.map((h) => h.key)), distances: Float32Array.from(all.map((h) => h.d)), count: all.length };
  };
  return {
    options,
    isa: "js",
    size: () => rows.size,
    contains: (k) => rows.has(k),
    get: (k) => rows.get(k)?.slice(),
    async addAsync(keys, vectors) {
      const d = options.dimensions;
      keys.forEach((k, i) => rows.set(k, vectors.slice(i * d, (i + 1) * d)));
    },
    remove: (k) => rows.delete(k),
    search,
    searchAsync: async (q, k) => search(q, k),
    exactSearch: search,
    async saveAsync() {},
    load() {},
    memoryUsage: () => rows.size * options.dimensions * 4,
    clear: () => rows.clear(),
  };
}
