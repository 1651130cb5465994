// Measurement (not a test): 60k random 784-d vectors through the engine (insert each,
// awaited in batches, then CreateIndex) versus one raw addAsync, with and without
// --index-path (WAL cost). Run: node_modules/.bin/bun test/agent/engine/bench-insert.ts [n]
// Reports wall time and process CPU time: on a shared machine the CPU seconds compare
// better than the wall clock.
import { cpus } from "node:os";
import { openIndex } from "../../../src/index/addon";
import { createEngine } from "../../../src/agent/engine";
import { engineOptions, tempDir } from "./helpers";

const N = Number(process.argv[2] ?? 60_000);
const D = 784;
const BATCH = 1000;
const options = engineOptions({ dimension: D, connectivity: 16, expansionAdd: 128, expansionSearch: 64 });

const data = new Float32Array(N * D);
for (let i = 0; i < data.length; i++) data[i] = Math.random();
const row = (i: number) => data.subarray(i * D, (i + 1) * D);

/** process CPU seconds (all threads) used since `from` */
function cpuSince(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
}

async function raw(): Promise<number> {
  const index = openIndex(
    { dimensions: D, metric: "l2sq", quantization: "f32", connectivity: 16, expansionAdd: 128, expansionSearch: 64 },
    "auto",
  );
  const keys = Float64Array.from({ length: N }, (_, i) => i);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await index.addAsync(keys, data, cpus().length);
  console.log(`  raw build CPU ${cpuSince(c0).toFixed(1)} s`);
  return performance.now() - t0;
}

async function throughEngine(indexPath?: string): Promise<{ insert: number; build: number; save: number }> {
  const engine = await createEngine({ ...options, indexPath });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let start = 0; start < N; start += BATCH) {
    const acks: Promise<void>[] = [];
    for (let i = start; i < Math.min(N, start + BATCH); i++) acks.push(engine.insert(`id-${i}`, row(i), 0n, false));
    await Promise.all(acks);
  }
  const t1 = performance.now();
  const c1 = process.cpuUsage();
  console.log(`  insert CPU ${cpuSince(c0).toFixed(1)} s`);
  await engine.createIndex(0);
  console.log(`  createIndex CPU ${cpuSince(c1).toFixed(1)} s`);
  const t2 = performance.now();
  await engine.saveIndex();
  const t3 = performance.now();
  await engine.close();
  return { insert: t1 - t0, build: t2 - t1, save: t3 - t2 };
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const rawMs = await raw();
console.log(`raw addAsync ${N}x${D} on ${cpus().length} threads: ${fmt(rawMs)}`);
const mem = await throughEngine();
console.log(
  `engine in-memory: insert ${fmt(mem.insert)} (${Math.round(N / (mem.insert / 1000))}/s) + createIndex ${fmt(mem.build)} = ${fmt(mem.insert + mem.build)}; ratio to raw ${((mem.insert + mem.build) / rawMs).toFixed(2)}`,
);
const dir = tempDir();
try {
  const disk = await throughEngine(dir.path);
  console.log(
    `engine with WAL: insert ${fmt(disk.insert)} (${Math.round(N / (disk.insert / 1000))}/s) + createIndex ${fmt(disk.build)} = ${fmt(disk.insert + disk.build)}; ratio to raw ${((disk.insert + disk.build) / rawMs).toFixed(2)}; saveIndex ${fmt(disk.save)}`,
  );
} finally {
  dir.cleanup();
}
