// Every stored vector is found by a search for itself. An HNSW graph can hold vectors
// no search reaches, at any ef: the neighbour heuristic drops an outlier's last
// in-link, and usearch's concurrent adds erase links (native/reachability.hpp). The
// addon walks the graph after every add and every load, links such vectors again, and
// scans those it still cannot link. Gaussian 96-d data at M 8 has dozens of them per
// 5,000, on one thread and on two; the npm prebuilt usearch, which has no such
// check, is the witness that the data does produce them.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openIndex } from "../../src/index/addon.ts";
import type { AnnIndex, GraphRepair, IndexOptions } from "../../src/index/types.ts";
import { gaussianVectors } from "./vectors.ts";

setDefaultTimeout(60_000);

const N = 5000;
const D = 96;
const options: IndexOptions = { dimensions: D, metric: "l2sq", quantization: "f32", connectivity: 8, expansionAdd: 128, expansionSearch: 64 };

const data = gaussianVectors(N, D, 96);
const keys = Float64Array.from({ length: N }, (_, i) => i);
const row = (i: number) => data.subarray(i * D, (i + 1) * D);
const tmp = mkdtempSync(join(tmpdir(), "alvd-reach-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** ids whose own vector, searched for, does not come back first */
function missedBy(search: (q: Float32Array) => number | undefined, ids: Iterable<number>): number[] {
  const missed: number[] = [];
  for (const i of ids) if (search(row(i)) !== i) missed.push(i);
  return missed;
}

/** misses at ef 256, searched again with ef as large as the index: what no search finds */
const selfMisses = (index: AnnIndex, ids: Iterable<number> = keys) => {
  const at = (ef: number) => (q: Float32Array) => {
    const h = index.search(q, 1, ef);
    return h.count > 0 ? h.keys[0] : undefined;
  };
  return missedBy(at(N), missedBy(at(256), ids));
};

describe("every stored vector is reachable", () => {
  for (const threads of [1, 2]) {
    test(`a build on ${threads} thread${threads > 1 ? "s" : ""}: the repair links or scans each vector no search reached`, async () => {
      const index = openIndex(options, "auto");
      const repair: GraphRepair = await index.addAsync(keys, data, threads);
      // the data does strand vectors, and some the relink cannot link (measured: about
      // 40 relinked and 10 stranded); otherwise this test would prove nothing
      expect(repair.relinked).toBeGreaterThan(5);
      expect(repair.stranded).toBeGreaterThan(0);
      expect(selfMisses(index)).toEqual([]);
      // and through the native-thread path the agent's searches take
      const misses: number[] = [];
      for (let i = 0; i < N; i += 250) {
        const batch = await Promise.all(Array.from({ length: 250 }, (_, j) => index.searchAsync(row(i + j), 1, 256)));
        batch.forEach((h, j) => h.keys[0] !== i + j && misses.push(i + j));
      }
      // what ef 256 misses, ef N finds: the graph is whole
      expect(selfMisses(index, misses)).toEqual([]);
    });
  }

  test("a stranded vector removed is never returned; the rest are found; a save and load keeps them found", async () => {
    const index = openIndex(options, "auto");
    const first = await index.addAsync(keys.subarray(0, N / 2), data.subarray(0, (N / 2) * D), 2);
    const second = await index.addAsync(keys.subarray(N / 2), data.subarray((N / 2) * D), 2);
    expect(first.relinked + first.stranded + second.relinked + second.stranded).toBeGreaterThan(5);
    const removed = new Set<number>();
    for (let i = 0; i < N; i += 3) {
      expect(index.remove(i)).toBe(true);
      removed.add(i);
    }
    // removal leaves graph links; whatever a search returns must still be live, with its own distance
    for (let i = 0; i < N; i += 7) {
      const h = index.search(row(i), 10, 200);
      for (let j = 0; j < h.count; j++) {
        const key = h.keys[j]!;
        expect({ key, removed: removed.has(key) }).toEqual({ key, removed: false });
      }
    }
    const live = [...keys].filter((k) => !removed.has(k));
    expect(selfMisses(index, live)).toEqual([]);
    const path = join(tmp, "stranded.usearch");
    await index.saveAsync(path);
    const loaded = openIndex(options, "auto");
    loaded.load(path);
    expect(loaded.size()).toBe(live.length);
    expect(selfMisses(loaded, live)).toEqual([]);
    // an add reuses the removed slots: what it leaves unreachable is repaired as well
    const again = await loaded.addAsync(Float64Array.from(removed), Float32Array.from([...removed].flatMap((i) => [...row(i)])), 2);
    expect(again.stranded).toBeLessThan(N / 100);
    expect(selfMisses(loaded)).toEqual([]);
  });

  test("a graph file from the npm prebuilt usearch, which strands vectors, is repaired when it loads", async () => {
    interface Prebuilt {
      add(keys: BigUint64Array, vectors: Float32Array, threads?: number): void;
      search(v: Float32Array, k: number, threads?: number): { keys: BigUint64Array };
      save(path: string): void;
      changeExpansionSearch?(n: number): void;
    }
    const usearch = createRequire(import.meta.url)("usearch") as { Index: new (o: Record<string, unknown>) => Prebuilt };
    const prebuilt = new usearch.Index({ dimensions: D, metric: "l2sq", quantization: "f32", connectivity: 8, expansion_add: 128, expansion_search: 512 });
    prebuilt.add(BigUint64Array.from({ length: N }, (_, i) => BigInt(i)), data, 2);
    // the witness: its own searches miss some of its own vectors, at ef 512
    const before = missedBy((q) => {
      const r = prebuilt.search(q, 1);
      return r.keys.length > 0 ? Number(r.keys[0]) : undefined;
    }, keys);
    expect(before.length).toBeGreaterThan(5);
    const path = join(tmp, "prebuilt.usearch");
    prebuilt.save(path);
    const ours = openIndex(options, "auto");
    const repair = ours.load(path);
    expect(repair.relinked + repair.stranded).toBeGreaterThan(5);
    expect(selfMisses(ours)).toEqual([]);
  });
});
