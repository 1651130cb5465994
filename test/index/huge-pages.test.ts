// The addon asks for transparent huge pages on the index's graph and vector arenas
// (native/alvd_index.cc). Where the system grants them ("madvise" or "always"), an
// index of a few tens of MiB must end up on them; and the start-up log says which.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeHugePages, hugePageMode } from "../../src/index/huge-pages.ts";

const mode = hugePageMode();

describe("huge pages", () => {
  test.skipIf(mode !== "madvise" && mode !== "always")(`an index's arenas are backed by huge pages (system: ${mode})`, async () => {
    const probe = Bun.spawn([process.execPath, join(import.meta.dir, "huge-pages-probe.ts")], { stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(probe.stdout).text(), new Response(probe.stderr).text(), probe.exited]);
    expect(err).toBe("");
    expect(code).toBe(0);
    const r = JSON.parse(out) as { grownKiB: number; readsBack: boolean };
    // most of the 24 MiB of vectors: arenas double, so the last may be partly untouched
    expect(r.grownKiB).toBeGreaterThan(12 * 1024);
    expect(r.readsBack).toBe(true);
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
