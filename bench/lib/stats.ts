// Small statistics and formatting helpers for benchmark reports.
import { readdirSync, readFileSync } from "node:fs";

/** p in [0, 100] over an unsorted sample (nearest-rank) */
export function percentile(sample: ArrayLike<number>, p: number): number {
  const s = Float64Array.from(sample).sort();
  if (s.length === 0) return Number.NaN;
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i]!;
}

export function median(sample: ArrayLike<number>): number {
  const s = Float64Array.from(sample).sort();
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** resident set size of a process (bytes), from /proc */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
  if (!kb) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) * 1024;
}

/**
 * A process's RSS once freed memory has gone back to the OS (this process's when `pid`
 * is not given). A full collection frees garbage at once, but Bun's allocators return
 * the pages to the kernel later, on their own threads: read right after the collection,
 * the RSS still holds them, and if they go back while a build runs, the build's growth
 * reads too small (by ~6 % for the 60k × 784 prebuilt build after the dataset's
 * decompression garbage). So: collect (this process only), then poll until two readings
 * 250 ms apart differ by under 1 MiB, for at most 10 s.
 */
export async function settledRss(pid?: number): Promise<number> {
  const read = () => {
    if (pid !== undefined) return rssOf(pid);
    Bun.gc(true);
    return process.memoryUsage.rss();
  };
  let last = read();
  for (const end = Date.now() + 10_000; Date.now() < end; ) {
    await Bun.sleep(250);
    const now = read();
    if (Math.abs(now - last) < 1 << 20) return now;
    last = now;
  }
  return last;
}

export const fmt = {
  int: (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–"),
  f: (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "–"),
  ms: (n: number) => (Number.isFinite(n) ? `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms` : "–"),
  s: (n: number) => (Number.isFinite(n) ? `${n.toFixed(1)} s` : "–"),
  ratio: (a: number, b: number) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : "–"),
};

/** Markdown table (also readable on a terminal) */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const width = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? "").length)));
  const line = (r: string[]) => `| ${r.map((v, c) => v.padEnd(width[c]!)).join(" | ")} |`;
  return [line(cells[0]!), `| ${width.map((w) => "-".repeat(w)).join(" | ")} |`, ...cells.slice(1).map(line)].join("\n");
}

/** runs `fn` over items with `concurrency` workers; returns per-item latencies (ms) and wall time */
export async function timedPool<T>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<void>): Promise<{ latencies: Float64Array; wallMs: number }> {
  const latencies = new Float64Array(items.length);
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      const s = performance.now();
      await fn(items[i]!, i);
      latencies[i] = performance.now() - s;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return { latencies, wallMs: performance.now() - t0 };
}

/** USER_HZ on Linux; /proc reports CPU time in these ticks */
const CLOCK_TICKS = 100;

/** CPU seconds a process has used so far, all its threads (utime + stime from /proc) */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // fields after the command name, which is in parentheses and may hold spaces
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
}

/**
 * CPU seconds of each JavaScriptCore compiler thread (JITWorker) of a process, by thread
 * id: the optimizing tiers compile a function only after it ran many thousand times, so a
 * server keeps compiling for its first ten-thousands of calls. A steady-state figure
 * starts once they go quiet. The threads come and go, so compare two readings with
 * jitDelta, not their sums.
 */
export function jitThreadsOf(pid: number): Map<string, number> {
  const threads = new Map<string, number>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      if (readFileSync(`/proc/${pid}/task/${t}/comm`, "utf8").trim() !== "JITWorker") continue;
      const f = readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8");
      const fields = f.slice(f.lastIndexOf(")") + 2).split(" ");
      threads.set(`${pid}/${t}`, (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return threads;
}

/** JIT CPU seconds used between two readings (a thread that ended in between is left out) */
export function jitDelta(before: Map<string, number>, after: Map<string, number>): number {
  let s = 0;
  for (const [t, v] of after) s += v - (before.get(t) ?? 0);
  return s;
}

/** the peak resident set size of a process since it started (bytes) */
export function peakRssOf(pid: number): number {
  const kb = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  if (!kb) throw new Error(`no VmHWM for pid ${pid}`);
  return Number(kb) * 1024;
}
