// The async searches of one event-loop turn share native calls (src/index/search-batcher.ts).
// Each caller must still get exactly its own answer: the same keys and distances as a
// synchronous search with its k and ef, whatever else rode in its batch, a bad caller
// must fail alone, and a caller may reuse its query buffer the moment it has asked.
import { describe, expect, test } from "bun:test";
import { openIndex } from "../../src/index/addon.ts";
import type { AnnIndex, SearchHits } from "../../src/index/types.ts";
import { randomVectors } from "./vectors.ts";

const d = 32;
const N = 3000;

async function built(): Promise<{ index: AnnIndex; vectors: Float32Array }> {
  const index = openIndex({ dimensions: d, metric: "l2sq", quantization: "f32", connectivity: 12, expansionAdd: 64, expansionSearch: 24 }, "auto");
  const vectors = randomVectors(N, d, 5);
  await index.addAsync(Float64Array.from({ length: N }, (_, i) => i * 3), vectors, 2);
  return { index, vectors };
}

const answer = (h: SearchHits) => ({ keys: Array.from(h.keys.subarray(0, h.count)), distances: Array.from(h.distances.subarray(0, h.count)) });

describe("batched async search", () => {
  test("a burst of mixed k and ef: each caller gets what a synchronous search of its own gives", async () => {
    const { index } = await built();
    const queries = randomVectors(300, d, 9);
    const asks = Array.from({ length: 300 }, (_, i) => ({ q: queries.subarray(i * d, (i + 1) * d), k: 1 + (i % 13), ef: [0, 8, 40, 100][i % 4]! }));
    // all asked in one turn, so they are coalesced
    const got = await Promise.all(asks.map((a) => index.searchAsync(a.q, a.k, a.ef)));
    for (let i = 0; i < asks.length; i++) {
      const a = asks[i]!;
      expect({ i, ...answer(got[i]!) }).toEqual({ i, ...answer(index.search(a.q, a.k, a.ef)) });
      expect(got[i]!.count).toBe(a.k);
    }
    // and one at a time, each its own turn
    for (let i = 0; i < 20; i++) {
      const a = asks[i]!;
      expect(answer(await index.searchAsync(a.q, a.k, a.ef))).toEqual(answer(index.search(a.q, a.k, a.ef)));
    }
  });

  test("a caller may overwrite its query buffer right after asking", async () => {
    const { index, vectors } = await built();
    const buf = new Float32Array(d);
    const pending: Promise<SearchHits>[] = [];
    for (let i = 0; i < 50; i++) {
      buf.set(vectors.subarray(i * d, (i + 1) * d));
      pending.push(index.searchAsync(buf, 1));
    }
    buf.fill(0);
    const hits = await Promise.all(pending);
    // each got the answer for the vector the buffer held when it asked (not an HNSW
    // self-hit: a graph built on 2 threads leaves a few nodes no search reaches)
    for (let i = 0; i < 50; i++) expect({ i, ...answer(hits[i]!) }).toEqual({ i, ...answer(index.search(vectors.subarray(i * d, (i + 1) * d), 1)) });
    // and not one answer for all (the zeroed buffer's): the queries differed. Self-hits
    // would say it too, but how many the graph finds varies with the build (45 to 50).
    expect(new Set(hits.map((h) => h.keys[0])).size).toBeGreaterThan(40);
  });

  test("a bad caller fails alone; the rest of its turn is answered", async () => {
    const { index, vectors } = await built();
    const q = vectors.subarray(0, d);
    const results = await Promise.allSettled([
      index.searchAsync(q, 2),
      index.searchAsync(new Float32Array(d + 1), 2),
      index.searchAsync(q, -1),
      index.searchAsync(q, 1.5),
      index.searchAsync(q, 2, 2 ** 21),
      index.searchAsync(q, 0),
      index.searchAsync(q, 3),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "rejected", "rejected", "rejected", "fulfilled", "fulfilled"]);
    const reason = (i: number) => String((results[i] as PromiseRejectedResult).reason);
    expect(reason(1)).toMatch(/RangeError: query has 33 dimensions, index has 32/);
    expect(reason(2)).toMatch(/RangeError: k must be an integer/);
    expect(reason(4)).toMatch(/RangeError: expansion must be an integer/);
    const ok = (i: number) => (results[i] as PromiseFulfilledResult<SearchHits>).value;
    expect(answer(ok(0))).toEqual(answer(index.search(q, 2)));
    expect(ok(5).count).toBe(0);
    expect(answer(ok(6))).toEqual(answer(index.search(q, 3)));
  });

  test("an empty index answers a burst with no hits", async () => {
    const index = openIndex({ dimensions: d, metric: "cos", quantization: "f32", connectivity: 8, expansionAdd: 32, expansionSearch: 16 }, "plain");
    const got = await Promise.all(Array.from({ length: 10 }, () => index.searchAsync(new Float32Array(d).fill(1), 5)));
    expect(got.map((h) => h.count)).toEqual(Array(10).fill(0));
  });
});
