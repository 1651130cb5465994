// The simd addon compiles NumKong's dispatch files with the kernel kinds usearch never
// asks for removed (native/numkong-trim.ts). These check the trimming on the real
// sources and that the addon built from them still dispatches to SIMD kernels.
import { describe, expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { NUMKONG_KINDS, trimDispatchSource } from "../../native/numkong-trim";
import { openIndex } from "../../src/index/addon";

const numkongC = join(import.meta.dir, "..", "..", "node_modules", "usearch", "numkong", "c");
const kinds = (text: string) => new Set([...text.matchAll(/case nk_kernel_([a-z0-9_]+)_k:/g)].map((m) => m[1]!));

describe("NumKong dispatch trimming", () => {
  test("keeps exactly the kinds usearch uses, in every dispatch file", () => {
    const files = readdirSync(numkongC).filter((f) => f.startsWith("dispatch_") && f.endsWith(".c"));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const original = readFileSync(join(numkongC, f), "utf8");
      const trimmed = trimDispatchSource(original);
      for (const k of kinds(trimmed)) expect(NUMKONG_KINDS as readonly string[]).toContain(k);
      // nothing kept is lost: every kept kind present before is present after
      for (const k of kinds(original)) if ((NUMKONG_KINDS as readonly string[]).includes(k)) expect(kinds(trimmed).has(k)).toBe(true);
      // the rest of the file (find_ functions, init tables, fallbacks) is untouched
      expect(trimmed.split("\n").filter((l) => !l.includes("case nk_kernel")).length).toBeGreaterThan(0);
    }
    const f32 = trimDispatchSource(readFileSync(join(numkongC, "dispatch_f32.c"), "utf8"));
    expect(f32).toContain("nk_dot_f32_haswell");
    expect(f32).toContain("nk_sqeuclidean_f32_skylake");
    expect(f32).not.toContain("nk_kabsch_f32");
    expect(f32).not.toContain("nk_dots_packed_f32");
  });

  test("a case without a return is refused rather than mangled", () => {
    expect(() => trimDispatchSource("switch (k) {\n case nk_kernel_dots_k: foo();\n case nk_kernel_dot_k: return;\n}")).toThrow(/no return/);
  });

  const cpu = readFileSync("/proc/cpuinfo", "utf8");
  test.skipIf(process.arch !== "x64" || !/\bavx2\b/.test(cpu))("the simd addon still picks SIMD kernels for every metric and type we serve", () => {
    for (const [metric, quantization] of [["l2sq", "f32"], ["cos", "f32"], ["ip", "f32"], ["cos", "f16"], ["l2sq", "f16"], ["cos", "i8"]] as const) {
      const ix = openIndex({ dimensions: 64, metric, quantization, connectivity: 16, expansionAdd: 64, expansionSearch: 64 }, "auto");
      expect(`${metric}/${quantization}: ${ix.isa}`).not.toMatch(/serial|unknown/);
    }
  });
});
