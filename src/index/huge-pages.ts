// Whether the kernel backs the index's memory with transparent huge pages. The addon
// asks for them on its graph and vector arenas (MADV_HUGEPAGE, native/alvd_index.cc);
// the system setting decides: "madvise" (the usual default) and "always" grant them,
// "never" does not. Logged at start, since it moves search speed by ~10 % on large sets.
import { readFileSync } from "node:fs";

export type HugePageMode = "always" | "madvise" | "never" | "unknown";

const SETTING = "/sys/kernel/mm/transparent_hugepage/enabled";

/** the active choice in the kernel's setting, e.g. "always [madvise] never" → madvise */
export function hugePageMode(setting = SETTING): HugePageMode {
  let text: string;
  try {
    text = readFileSync(setting, "utf8");
  } catch {
    return "unknown";
  }
  const chosen = /\[(\w+)\]/.exec(text)?.[1];
  return chosen === "always" || chosen === "madvise" || chosen === "never" ? chosen : "unknown";
}

/** for the start-up log line */
export function describeHugePages(mode = hugePageMode()): string {
  switch (mode) {
    case "always":
    case "madvise":
      return `on (transparent huge pages: ${mode})`;
    case "never":
      return "off (transparent huge pages: never)";
    default:
      return "unknown (no transparent huge page setting on this system)";
  }
}
