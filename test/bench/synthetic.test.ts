// The scale benchmark's data and ground truth: the same rows however they are chunked,
// queries that are not base rows, and exact neighbours that agree between the addon's
// linear scan and plain JS (and with a naive full sort).
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openIndex } from "../../src/index/addon";
import { replaceSection } from "../../bench/lib/results-section";
import { Mixture } from "../../bench/lib/synthetic";
import { agreement, exactKnnByIndex, exactKnnJs } from "../../bench/lib/synthetic-groundtruth";

const spec = { dimension: 16, centres: 12, seed: 7 };

describe("synthetic mixture", () => {
  test("a row is the same bytes in any chunking and from a fresh generator", () => {
    const whole = new Mixture(spec).rows("base", 0, 300);
    const part = new Mixture(spec).rows("base", 120, 30, new Float32Array(64 * 16));
    expect(Array.from(part)).toEqual(Array.from(whole.subarray(120 * 16, 150 * 16)));
    expect(new Mixture(spec).id).toBe(new Mixture(spec).id);
  });

  test("another seed, or the query stream, gives other rows", () => {
    const base = new Mixture(spec).rows("base", 0, 50);
    expect(Array.from(new Mixture({ ...spec, seed: 8 }).rows("base", 0, 50))).not.toEqual(Array.from(base));
    const queries = new Mixture(spec).rows("query", 0, 50);
    expect(Array.from(queries)).not.toEqual(Array.from(base));
    expect(new Mixture({ ...spec, seed: 8 }).id).not.toBe(new Mixture(spec).id);
  });

  test("rows are clustered: a row is nearer its nearest neighbour than a random row", () => {
    const rows = new Mixture(spec).rows("base", 0, 400);
    const dist = (a: number, b: number) => {
      let s = 0;
      for (let j = 0; j < 16; j++) s += (rows[a * 16 + j]! - rows[b * 16 + j]!) ** 2;
      return s;
    };
    let nearest = 0;
    let random = 0;
    for (let i = 0; i < 40; i++) {
      let best = Infinity;
      for (let r = 0; r < 400; r++) if (r !== i) best = Math.min(best, dist(i, r));
      nearest += best;
      random += dist(i, 399 - i);
    }
    expect(nearest * 4).toBeLessThan(random);
  });
});

describe("exact neighbours", () => {
  test("plain JS and the addon's linear scan agree, and match a full sort", async () => {
    const mix = new Mixture(spec);
    const n = 3000;
    const k = 10;
    const queries = mix.rows("query", 0, 25);
    const js = exactKnnJs(mix, n, queries, k);

    const base = mix.rows("base", 0, n);
    for (let q = 0; q < 3; q++) {
      const d = Array.from({ length: n }, (_, i) => {
        let s = 0;
        for (let j = 0; j < 16; j++) s += (queries[q * 16 + j]! - base[i * 16 + j]!) ** 2;
        return [s, i] as const;
      }).sort((a, b) => a[0] - b[0]);
      expect(Array.from(js.ids.subarray(q * k, (q + 1) * k))).toEqual(d.slice(0, k).map((x) => x[1]));
    }

    const index = openIndex({ dimensions: 16, metric: "l2sq", quantization: "f32", connectivity: 8, expansionAdd: 32, expansionSearch: 32 }, "auto");
    try {
      await index.addAsync(Float64Array.from({ length: n }, (_, i) => i), base, 1);
      const scanned = exactKnnByIndex(index, queries, k);
      expect(agreement(js, scanned)).toBeGreaterThanOrEqual(0.99);
    } finally {
      index.clear();
    }
  });
});

test("a RESULTS.md section is replaced in place, or appended once", () => {
  const dir = mkdtempSync(join(tmpdir(), "alvd-results-"));
  try {
    const file = join(dir, "RESULTS.md");
    replaceSection(file, "scale", "first");
    replaceSection(file, "other", "kept");
    replaceSection(file, "scale", "second");
    const text = readFileSync(file, "utf8");
    expect(text).toContain("<!-- scale:begin -->\nsecond\n<!-- scale:end -->");
    expect(text).not.toContain("first");
    expect(text.match(/scale:begin/g)?.length).toBe(1);
    expect(text.indexOf("scale:begin")).toBeLessThan(text.indexOf("other:begin"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
