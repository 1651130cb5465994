// Timed query runs shared by the benchmarks: run a query set at some concurrency,
// keep the ids found for recall, and summarise several runs as median QPS.
import type { AnnIndex } from "../../src/index/types";
import { recallAtK, type GroundTruth } from "./groundtruth";
import { median, percentile, timedPool } from "./stats";

export type Searcher = (q: number) => Promise<ArrayLike<number>>;

export interface OneRun {
  qps: number;
  latencies: Float64Array;
  found: ArrayLike<number>[];
}

export interface SearchSummary {
  qps: number;
  p50: number;
  p99: number;
  recall: number;
}

export async function runQueries(concurrency: number, queries: number, search: Searcher): Promise<OneRun> {
  const found = new Array<ArrayLike<number>>(queries);
  const items = Array.from({ length: queries }, (_, i) => i);
  const { latencies, wallMs } = await timedPool(items, concurrency, async (q) => {
    found[q] = await search(q);
  });
  return { qps: (queries / wallMs) * 1000, latencies, found };
}

/** QPS = median over runs; latencies and recall from the median run */
export function summariseRuns(runs: OneRun[], gt: GroundTruth, k: number): SearchSummary {
  const sorted = [...runs].sort((a, b) => a.qps - b.qps);
  const mid = sorted[sorted.length >> 1]!;
  return {
    qps: median(runs.map((r) => r.qps)),
    p50: percentile(mid.latencies, 50),
    p99: percentile(mid.latencies, 99),
    recall: recallAtK(mid.found, gt, k),
  };
}

/**
 * The in-process reference: one thread runs the usual synchronous ANN loop; with more
 * in flight, searchAsync puts the graph search on native worker threads.
 */
export function rawSearcher(index: AnnIndex, queries: Float32Array[], k: number, ef: number, concurrency: number): Searcher {
  return concurrency === 1
    ? async (q) => {
        const h = index.search(queries[q]!, k, ef);
        return h.keys.subarray(0, h.count);
      }
    : async (q) => {
        const h = await index.searchAsync(queries[q]!, k, ef);
        return h.keys.subarray(0, h.count);
      };
}

/** The queries (× repeat) one at a time on this thread, with CPU from this process: the raw references of bench perf and bench scale. */
export interface RawRun {
  cpuUs: number;
  qps: number;
  latencies: Float64Array;
  found: ArrayLike<number>[];
}

export function rawRun(search: (q: Float32Array) => ArrayLike<number>, queries: Float32Array[], repeat: number): RawRun {
  const found: ArrayLike<number>[] = [];
  const latencies = new Float64Array(queries.length * repeat);
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  for (let r = 0; r < repeat; r++) {
    for (let q = 0; q < queries.length; q++) {
      const s = performance.now();
      const keys = search(queries[q]!);
      latencies[r * queries.length + q] = performance.now() - s;
      if (r === 0) found.push(keys);
    }
  }
  const wall = performance.now() - t0;
  const u = process.cpuUsage(u0);
  const n = queries.length * repeat;
  return { cpuUs: (u.user + u.system) / n, qps: (n / wall) * 1000, latencies, found };
}
