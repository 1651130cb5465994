// NumKong's dispatch files (numkong/c/dispatch_*.c) map every kernel kind × ISA to a
// kernel. The kernels are `static inline`, so a kernel is compiled into the addon only
// when a dispatch `case` names it. usearch asks NumKong for five kinds (see
// nk_kernel_*_k in usearch's index_plugins.hpp); the rest (batched matmuls, geospatial,
// mesh alignment, reductions, …) made up ~80% of the addon's 4.3 MB. We compile copies
// of the dispatch files with the other cases removed: a lookup for a removed kind falls
// through to NumKong's own "not found" answer, exactly as for an ISA without that kernel.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Kernel kinds usearch's metric lookup requests, plus euclidean (sqrt of the same kernel) and cast. */
export const NUMKONG_KINDS = ["dot", "angular", "sqeuclidean", "euclidean", "hamming", "jaccard", "cast"] as const;

const CASE = /^\s*case nk_kernel_([a-z0-9_]+)_k:/;

/** The dispatch source without the `case` statements of kinds not in `keep`. */
export function trimDispatchSource(text: string, keep: readonly string[] = NUMKONG_KINDS): string {
  const lines = text.split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = CASE.exec(lines[i]!);
    if (!m) {
      out.push(lines[i]!);
      continue;
    }
    // a case statement runs to its `return;`, on the same line or a few lines below
    let end = i;
    while (!lines[end]!.includes("return;")) {
      end++;
      if (end >= lines.length || CASE.test(lines[end]!)) throw new Error(`numkong-trim: case at line ${i + 1} has no return`);
    }
    if (keep.includes(m[1]!)) out.push(...lines.slice(i, end + 1));
    i = end;
  }
  return out.join("\n");
}

/**
 * Writes trimmed copies of the dispatch files among `sources` (file names in numkongC)
 * into outDir and returns the paths to compile (other sources stay where they are). The
 * copies include "dispatch.h" by a relative name, so callers add `-I numkongC`.
 */
export function trimmedNumkongSources(numkongC: string, sources: readonly string[], outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  return sources.map((s) => {
    if (!s.startsWith("dispatch_")) return join(numkongC, s);
    const path = join(outDir, s);
    writeFileSync(path, trimDispatchSource(readFileSync(join(numkongC, s), "utf8")));
    return path;
  });
}
