// src/gen must be exactly what `bun run gen` makes from proto/.
import { expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { BUN, ROOT } from "../lib/process";

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

test("src/gen is up to date with proto/", () => {
  const out = mkdtempSync(join(tmpdir(), "alvd-gen-"));
  try {
    const r = Bun.spawnSync([BUN, join(ROOT, "scripts/gen.ts"), out], { cwd: ROOT, stderr: "pipe" });
    expect(r.exitCode).toBe(0);
    const fresh = files(out).map((f) => relative(out, f)).sort();
    const committed = files(join(ROOT, "src/gen")).map((f) => relative(join(ROOT, "src/gen"), f)).sort();
    expect(committed).toEqual(fresh);
    for (const f of fresh) {
      const same = readFileSync(join(out, f), "utf8") === readFileSync(join(ROOT, "src/gen", f), "utf8");
      if (!same) throw new Error(`src/gen/${f} is stale: run \`bun run gen\``);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 60_000);
