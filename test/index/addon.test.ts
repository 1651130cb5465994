import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadAddon, openIndex } from "../../src/index/addon.ts";
import type { AnnIndex, IndexOptions, SimdMode } from "../../src/index/types.ts";
import { randomVectors } from "./vectors.ts";

// Deterministic vectors so failures reproduce.
function sequentialKeys(n: number, stride = 3, base = 7): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => base + i * stride);
}

function row(vectors: Float32Array, i: number, dims: number): Float32Array {
  return vectors.slice(i * dims, (i + 1) * dims);
}

const base: IndexOptions = {
  dimensions: 32,
  metric: "l2sq",
  quantization: "f32",
  connectivity: 16,
  expansionAdd: 64,
  expansionSearch: 32,
};

const tmp = mkdtempSync(join(tmpdir(), "alvd-index-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const modes: [SimdMode, string][] = [
  ["auto", "simd"],
  ["plain", "plain"],
];

describe.each(modes)("addon flavour %s", (mode, flavour) => {
  const open = (o: Partial<IndexOptions> = {}): AnnIndex => openIndex({ ...base, ...o }, mode);

  test("loads the expected flavour and reports its ISA", () => {
    const info = loadAddon(mode);
    expect(info.flavour).toBe(flavour as "simd" | "plain");
    const index = open();
    expect(index.isa.length).toBeGreaterThan(0);
    if (flavour === "plain") expect(index.isa).toBe("serial");
    else expect(info.hardwareAcceleration.split(", ")).toContain(index.isa);
  });

  test("addAsync then search finds each vector first", async () => {
    const n = 1500;
    const vectors = randomVectors(n, base.dimensions, 1);
    const keys = sequentialKeys(n);
    const index = open();
    await index.addAsync(keys, vectors, 2);
    expect(index.size()).toBe(n);
    expect(index.contains(keys[10]!)).toBe(true);
    expect(index.contains(8)).toBe(false);
    // HNSW is approximate and a 2-thread build is not deterministic: on random 32-d data
    // a rare query misses itself, so ask for near-complete recall of self-matches.
    let self = 0;
    let asked = 0;
    for (let i = 0; i < n; i += 37) {
      const hits = index.search(row(vectors, i, base.dimensions), 5);
      expect(hits.count).toBe(5);
      asked++;
      if (hits.keys[0] === keys[i]!) {
        self++;
        expect(hits.distances[0]).toBeCloseTo(0, 5);
      }
      const async = await index.searchAsync(row(vectors, i, base.dimensions), 5);
      expect(Array.from(async.keys)).toEqual(Array.from(hits.keys));
    }
    expect(self).toBeGreaterThanOrEqual(asked - 2);
    expect(index.memoryUsage()).toBeGreaterThan(n * base.dimensions * 4);
  });

  test("get returns the stored vector (exact for f32, close for f16 and i8)", async () => {
    const n = 200;
    const d = base.dimensions;
    const vectors = randomVectors(n, d, 2);
    const keys = sequentialKeys(n);
    for (const quantization of ["f32", "f16", "i8"] as const) {
      const index = open({ quantization, metric: quantization === "i8" ? "cos" : "l2sq" });
      await index.addAsync(keys, vectors, 1);
      expect(index.get(1)).toBeUndefined();
      for (let i = 0; i < n; i += 13) {
        const want = row(vectors, i, d);
        const got = index.get(keys[i]!)!;
        expect(got).toBeInstanceOf(Float32Array);
        expect(got.length).toBe(d);
        if (quantization === "f32") expect(Array.from(got)).toEqual(Array.from(want));
        if (quantization === "f16") for (let j = 0; j < d; j++) expect(Math.abs(got[j]! - want[j]!)).toBeLessThan(1e-3);
        if (quantization === "i8") {
          // i8 keeps the direction: usearch scales by the norm before rounding to 1/127 steps.
          const norm = Math.hypot(...want);
          for (let j = 0; j < d; j++) expect(Math.abs(got[j]! - want[j]! / norm)).toBeLessThan(1.01 / 127);
        }
      }
    }
  });

  test("typed arrays with a byteOffset are honoured", async () => {
    const n = 300;
    const d = base.dimensions;
    const vectors = randomVectors(n + 5, d, 3);
    const keysBuf = sequentialKeys(n + 2);
    const index = open();
    // Subarrays, as a protobuf decoder hands them out.
    await index.addAsync(keysBuf.subarray(2), vectors.subarray(5 * d), 2);
    expect(index.contains(keysBuf[0]!)).toBe(false);
    expect(index.size()).toBe(n);
    const q = vectors.subarray(9 * d, 10 * d); // row 4 of the added block, key keysBuf[6]
    expect(index.search(q, 1).keys[0]).toBe(keysBuf[6]!);
    expect(index.exactSearch(q, 1).keys[0]).toBe(keysBuf[6]!);
    expect((await index.searchAsync(q, 1)).keys[0]).toBe(keysBuf[6]!);
    expect(Array.from(index.get(keysBuf[6]!)!)).toEqual(Array.from(q));
  });

  test("per-query expansion: higher ef gives recall no lower than a small ef", async () => {
    const n = 3000;
    const d = 24;
    const vectors = randomVectors(n, d, 4);
    const keys = sequentialKeys(n, 1, 0);
    const index = open({ dimensions: d, connectivity: 4, expansionAdd: 16, expansionSearch: 10 });
    await index.addAsync(keys, vectors, 2);
    const queries = randomVectors(40, d, 5);
    const k = 10;
    const recall = (ef: number | undefined) => {
      let found = 0;
      for (let i = 0; i < 40; i++) {
        const q = row(queries, i, d);
        const truth = new Set(Array.from(index.exactSearch(q, k).keys));
        const hits = index.search(q, k, ef);
        for (let j = 0; j < hits.count; j++) if (truth.has(hits.keys[j]!)) found++;
      }
      return found / (40 * k);
    };
    const low = recall(10);
    const high = recall(400);
    expect(recall(undefined)).toBe(low); // default ef is the configured 10
    expect(high).toBeGreaterThanOrEqual(low);
    expect(high).toBeGreaterThan(0.9);
    expect(low).toBeLessThan(1); // the set is hard enough for ef to matter
  });

  test("remove, contains and reuse of the key", async () => {
    const n = 400;
    const d = base.dimensions;
    const vectors = randomVectors(n, d, 6);
    const keys = sequentialKeys(n);
    const index = open();
    await index.addAsync(keys, vectors, 2);
    const gone = keys[3]!;
    expect(index.remove(gone)).toBe(true);
    expect(index.remove(gone)).toBe(false);
    expect(index.contains(gone)).toBe(false);
    expect(index.get(gone)).toBeUndefined();
    expect(index.size()).toBe(n - 1);
    const q = row(vectors, 3, d);
    expect(Array.from(index.search(q, 10).keys)).not.toContain(gone);
    expect(Array.from(index.exactSearch(q, 10).keys)).not.toContain(gone);
    await index.addAsync(new Float64Array([gone]), q, 1);
    expect(index.search(q, 1).keys[0]).toBe(gone);
    expect(index.size()).toBe(n);
    index.clear();
    expect(index.size()).toBe(0);
    expect(index.search(q, 3).count).toBe(0);
  });

  test("saveAsync then load gives identical search results", async () => {
    const n = 800;
    const d = base.dimensions;
    const vectors = randomVectors(n, d, 7);
    const keys = sequentialKeys(n);
    const index = open({ quantization: "f16" });
    await index.addAsync(keys, vectors, 2);
    index.remove(keys[0]!);
    const path = join(tmp, `${flavour}.usearch`);
    await index.saveAsync(path);
    const copy = open({ quantization: "f16" });
    copy.load(path);
    expect(copy.size()).toBe(n - 1);
    expect(copy.contains(keys[0]!)).toBe(false);
    expect(Array.from(copy.get(keys[5]!)!)).toEqual(Array.from(index.get(keys[5]!)!));
    const queries = randomVectors(20, d, 8);
    for (let i = 0; i < 20; i++) {
      const q = row(queries, i, d);
      const a = index.search(q, 10, 50);
      const b = copy.search(q, 10, 50);
      expect(Array.from(b.keys)).toEqual(Array.from(a.keys));
      expect(Array.from(b.distances)).toEqual(Array.from(a.distances));
    }
    // The loaded index keeps working: adds and searches.
    await copy.addAsync(new Float64Array([1]), row(queries, 0, d), 1);
    expect(copy.search(row(queries, 0, d), 1).keys[0]).toBe(1);
    // A file of another shape is refused and the index is left as it was.
    const other = open({ dimensions: 8, quantization: "f16" });
    expect(() => other.load(path)).toThrow(/dimension|metric/);
    expect(() => copy.load(join(tmp, "missing.usearch"))).toThrow(/load/);
    expect(copy.size()).toBe(n);
  });

  test("searches run while an addAsync builds the graph", async () => {
    const d = base.dimensions;
    const first = randomVectors(500, d, 9);
    const index = open();
    await index.addAsync(sequentialKeys(500, 1, 0), first, 1);
    const more = randomVectors(4000, d, 10);
    const adding = index.addAsync(sequentialKeys(4000, 1, 1000), more, 2);
    // While links are being rewired HNSW may miss a node now and then: every search must
    // answer with valid keys, and nearly all must find the query itself.
    const valid = (k: number) => (k >= 0 && k < 500) || (k >= 1000 && k < 5000);
    const searches: Promise<number>[] = [];
    let syncHits = 0;
    for (let i = 0; i < 40; i++) {
      const q = row(first, i, d);
      searches.push(
        index.searchAsync(q, 5, 64).then((h) => {
          expect(h.count).toBe(5);
          expect(Array.from(h.keys).every(valid)).toBe(true);
          return h.keys[0] === i ? 1 : 0;
        }),
      );
      // the addon lets a search in only between whole adds: a full answer of real keys
      const sync = index.search(q, 5, 64);
      expect(sync.count).toBe(5);
      expect(Array.from(sync.keys.subarray(0, sync.count)).every(valid)).toBe(true);
      syncHits += sync.keys[0] === i ? 1 : 0;
      await Bun.sleep(0);
    }
    const [, ...asyncHits] = await Promise.all([adding, ...searches]);
    // near-complete self-recall: a rare miss of an approximate graph, not a broken answer
    expect(syncHits).toBeGreaterThanOrEqual(39);
    expect((asyncHits as number[]).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(39);
    expect(index.size()).toBe(4500);
    // More async searches in flight than the index keeps scratch contexts for: they queue.
    const burst = await Promise.all(Array.from({ length: 100 }, (_, i) => index.searchAsync(row(first, i, d), 3, 64)));
    expect(burst.every((h) => h.count === 3)).toBe(true);
    expect(burst.filter((h, i) => h.keys[0] === i).length).toBeGreaterThanOrEqual(95);
  });

  test("bad inputs throw clear errors and leave the index usable", async () => {
    const index = open();
    const d = base.dimensions;
    await index.addAsync(new Float64Array([1, 2]), randomVectors(2, d, 11), 1);
    expect(() => index.search(new Float32Array(d - 1), 1)).toThrow(/dimensions/);
    expect(() => index.exactSearch(new Float32Array(d + 1), 1)).toThrow(/dimensions/);
    expect(() => index.searchAsync(new Float32Array(3), 1)).toThrow(/dimensions/);
    expect(() => index.addAsync(new Float64Array([3]), new Float32Array(d + 1), 1)).toThrow(/expected 1 keys/);
    expect(() => index.addAsync(new Float64Array([-1]), new Float32Array(d), 1)).toThrow(/safe integer/);
    expect(() => index.addAsync(new Float64Array([0.5]), new Float32Array(d), 1)).toThrow(/safe integer/);
    expect(() => index.contains(-3)).toThrow(/key/);
    expect(() => index.search(new Float64Array(d) as unknown as Float32Array, 1)).toThrow(/Float32Array/);
    expect(index.addAsync(new Float64Array([1]), new Float32Array(d), 1)).rejects.toThrow(/key 1/);
    await Bun.sleep(0);
    expect(() => openIndex({ ...base, dimensions: 0 }, mode)).toThrow(/dimensions/);
    expect(index.size()).toBe(2);
    expect(index.search(new Float32Array(d), 2).count).toBe(2);
  });
});

describe("simd and plain flavours agree", () => {
  const n = 1000;
  const d = 48;
  const vectors = randomVectors(n, d, 12);
  const keys = sequentialKeys(n);
  const queries = randomVectors(25, d, 13);

  test("f32 exact search: same keys, same distances", async () => {
    const [a, b] = (["auto", "plain"] as const).map((m) => openIndex({ ...base, dimensions: d }, m));
    await a!.addAsync(keys, vectors, 2);
    await b!.addAsync(keys, vectors, 2);
    for (let i = 0; i < 25; i++) {
      const q = row(queries, i, d);
      const x = a!.exactSearch(q, 10);
      const y = b!.exactSearch(q, 10);
      expect(Array.from(y.keys)).toEqual(Array.from(x.keys));
      // SIMD kernels sum in another order: equal up to rounding.
      for (let j = 0; j < 10; j++) expect(Math.abs(y.distances[j]! - x.distances[j]!)).toBeLessThan(1e-4 * x.distances[j]!);
    }
  });

  test("HNSW built with one thread: same top-k", async () => {
    const [a, b] = (["auto", "plain"] as const).map((m) => openIndex({ ...base, dimensions: d }, m));
    await a!.addAsync(keys, vectors, 1);
    await b!.addAsync(keys, vectors, 1);
    for (let i = 0; i < 25; i++) {
      const q = row(queries, i, d);
      expect(Array.from(b!.search(q, 10).keys)).toEqual(Array.from(a!.search(q, 10).keys));
    }
  });
});
