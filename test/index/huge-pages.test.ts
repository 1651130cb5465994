// The addon asks for transparent huge pages on the index's graph and vector arenas
// (native/alvd_index.cc). Where the system grants them ("madvise" or "always"), an
// index of a few tens of MiB must end up on them; and the start-up log says which.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openIndex } from "../../src/index/addon.ts";
import { describeHugePages, hugePageMode } from "../../src/index/huge-pages.ts";
import { randomVectors } from "./vectors.ts";

function anonHugeKiB(): number {
  const m = /AnonHugePages:\s+(\d+) kB/.exec(readFileSync("/proc/self/smaps_rollup", "utf8"));
  return m ? Number(m[1]) : 0;
}

const mode = hugePageMode();

describe("huge pages", () => {
  test.skipIf(mode !== "madvise" && mode !== "always")(`an index's arenas are backed by huge pages (system: ${mode})`, async () => {
    const dims = 1024;
    const n = 6_000; // 24 MiB of vectors, plus the graph
    // both flavours are the same source (native/build.ts); "auto" is what runs by default
    for (const simd of ["auto"] as const) {
      const before = anonHugeKiB();
      const ix = openIndex({ dimensions: dims, metric: "l2sq", quantization: "f32", connectivity: 8, expansionAdd: 8, expansionSearch: 16 }, simd);
      await ix.addAsync(Float64Array.from({ length: n }, (_, i) => i), randomVectors(n, dims, 5), 2);
      const grown = anonHugeKiB() - before;
      // most of the 40 MiB of vectors: arenas double, so the last may be partly untouched
      expect(grown).toBeGreaterThan(12 * 1024);
      // what is read back through those pages is what went in
      const all = randomVectors(n, dims, 5);
      for (const key of [0, 123, n - 1]) {
        expect(ix.get(key)).toEqual(all.subarray(key * dims, (key + 1) * dims));
        const exact = ix.exactSearch(all.subarray(key * dims, (key + 1) * dims), 1);
        expect([exact.keys[0], exact.distances[0]]).toEqual([key, 0]);
      }
      ix.clear();
    }
  }, 120_000);

  test("the setting is read as the kernel writes it", () => {
    const dir = mkdtempSync(join(tmpdir(), "alvd-thp-"));
    const file = join(dir, "enabled");
    for (const [text, want] of [["always [madvise] never\n", "madvise"], ["[always] madvise never\n", "always"], ["always madvise [never]\n", "never"], ["garbage\n", "unknown"]] as const) {
      writeFileSync(file, text);
      expect(hugePageMode(file)).toBe(want);
    }
    expect(hugePageMode(join(dir, "missing"))).toBe("unknown");
    expect(describeHugePages("madvise")).toStartWith("on");
    expect(describeHugePages("never")).toStartWith("off");
  });
});
