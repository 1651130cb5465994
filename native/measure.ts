// Quick measurement (not a test): single-thread search QPS of our simd and plain addons
// against the prebuilt usearch addon, on random vectors.
// Usage: bun native/measure.ts [n=20000] [dims=784] [queries=2000]

import { Index, MetricKind, ScalarKind } from "usearch";
import { loadAddon, openIndex } from "../src/index/addon.ts";
import type { IndexOptions, SimdMode } from "../src/index/types.ts";

const n = Number(process.argv[2] ?? 20000);
const dims = Number(process.argv[3] ?? 784);
const queryCount = Number(process.argv[4] ?? 1000);
const M = 16;
const efC = 128;
const ef = 64;
const k = 10;
const buildThreads = 2;

function random(count: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(count * dims);
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 4294967296;
  }
  return out;
}

const data = random(n, 1);
const keys = Float64Array.from({ length: n }, (_, i) => i);
const queries = random(queryCount, 2);
// Separate arrays so every addon gets the same zero-offset inputs.
const queryRows = Array.from({ length: queryCount }, (_, i) => queries.slice(i * dims, (i + 1) * dims));
const query = (i: number) => queryRows[i]!;

const options: IndexOptions = {
  dimensions: dims,
  metric: "l2sq",
  quantization: "f32",
  connectivity: M,
  expansionAdd: efC,
  expansionSearch: ef,
};

interface Row {
  name: string;
  isa: string;
  buildSeconds: number;
  qps: number;
  recall: number;
}

// Ground truth from the brute force of the first addon measured (exactSearch).
let truth: Set<number>[] = [];

function recallOf(results: ArrayLike<number>[]): number {
  let hit = 0;
  results.forEach((r, i) => {
    for (let j = 0; j < k; j++) if (truth[i]!.has(Number(r[j]))) hit++;
  });
  return hit / (queryCount * k);
}

async function ours(mode: SimdMode): Promise<Row> {
  const index = openIndex(options, mode);
  let t = performance.now();
  await index.addAsync(keys, data, buildThreads);
  const buildSeconds = (performance.now() - t) / 1000;
  for (let i = 0; i < 200; i++) index.search(query(i % queryCount), k); // warm-up
  const results: ArrayLike<number>[] = [];
  t = performance.now();
  for (let i = 0; i < queryCount; i++) results.push(index.search(query(i), k).keys);
  const seconds = (performance.now() - t) / 1000;
  if (!truth.length)
    truth = Array.from({ length: queryCount }, (_, i) => new Set(Array.from(index.exactSearch(query(i), k).keys)));
  return { name: `alvd ${loadAddon(mode).flavour}`, isa: index.isa, buildSeconds, qps: queryCount / seconds, recall: recallOf(results) };
}

function prebuilt(): Row {
  const index = new Index({
    dimensions: dims,
    metric: MetricKind.L2sq,
    quantization: ScalarKind.F32,
    connectivity: M,
    expansion_add: efC,
    expansion_search: ef,
    multi: false,
  });
  let t = performance.now();
  index.add(BigUint64Array.from(keys, (x) => BigInt(x)), data, buildThreads);
  const buildSeconds = (performance.now() - t) / 1000;
  for (let i = 0; i < 200; i++) index.search(query(i % queryCount), k, 1);
  const results: ArrayLike<number>[] = [];
  t = performance.now();
  for (let i = 0; i < queryCount; i++) {
    const m = index.search(query(i), k, 1);
    results.push(Array.from(m.keys, Number));
  }
  const seconds = (performance.now() - t) / 1000;
  return { name: "usearch prebuilt", isa: "(runtime dispatch)", buildSeconds, qps: queryCount / seconds, recall: recallOf(results) };
}

console.log(`n=${n} dims=${dims} M=${M} efC=${efC} ef=${ef} k=${k} queries=${queryCount}, build on ${buildThreads} threads`);
console.log("| addon | isa | build s | search QPS (1 thread) | recall@10 |");
console.log("|---|---|---|---|---|");
for (const measure of [() => ours("auto"), async () => prebuilt(), () => ours("plain")]) {
  const r = await measure();
  console.log(`| ${r.name} | ${r.isa} | ${r.buildSeconds.toFixed(1)} | ${r.qps.toFixed(0)} | ${r.recall.toFixed(3)} |`);
}
