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

/** One addon under test: built once, then timed in interleaved rounds so load noise on
 *  this shared machine hits every contestant alike. */
interface Contestant {
  name: string;
  isa: string;
  buildSeconds: number;
  search(q: Float32Array): ArrayLike<number | bigint>;
}

async function ours(mode: SimdMode): Promise<Contestant & { exact(q: Float32Array): Float64Array }> {
  const index = openIndex(options, mode);
  const t = performance.now();
  await index.addAsync(keys, data, buildThreads);
  return {
    name: `alvd ${loadAddon(mode).flavour}`,
    isa: index.isa,
    buildSeconds: (performance.now() - t) / 1000,
    search: (q) => index.search(q, k).keys,
    exact: (q) => index.exactSearch(q, k).keys,
  };
}

function prebuilt(): Contestant {
  const index = new Index({
    dimensions: dims,
    metric: MetricKind.L2sq,
    quantization: ScalarKind.F32,
    connectivity: M,
    expansion_add: efC,
    expansion_search: ef,
    multi: false,
  });
  const t = performance.now();
  index.add(BigUint64Array.from(keys, (x) => BigInt(x)), data, buildThreads);
  return {
    name: "usearch prebuilt",
    isa: "(runtime dispatch)",
    buildSeconds: (performance.now() - t) / 1000,
    search: (q) => index.search(q, k, 1).keys,
  };
}

console.log(`n=${n} dims=${dims} M=${M} efC=${efC} ef=${ef} k=${k} queries=${queryCount}, build on ${buildThreads} threads`);
const simd = await ours("auto");
const contestants: Contestant[] = [simd, prebuilt(), await ours("plain")];
for (const c of contestants) console.log(`built ${c.name} in ${c.buildSeconds.toFixed(1)} s`);

const truth = Array.from({ length: queryCount }, (_, i) => new Set(Array.from(simd.exact(query(i)))));
const recall = contestants.map((c) => {
  let hit = 0;
  for (let i = 0; i < queryCount; i++) {
    const found = c.search(query(i));
    for (let j = 0; j < k; j++) if (truth[i]!.has(Number(found[j]))) hit++;
  }
  return hit / (queryCount * k);
});

const rounds = 5;
const perRound = Math.ceil(queryCount / rounds);
const qps: number[][] = contestants.map(() => []);
for (let r = 0; r < rounds; r++) {
  contestants.forEach((c, ci) => {
    const t = performance.now();
    for (let i = r * perRound; i < Math.min(queryCount, (r + 1) * perRound); i++) c.search(query(i));
    qps[ci]!.push(perRound / ((performance.now() - t) / 1000));
  });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

console.log("| addon | isa | build s | search QPS, 1 thread (median of rounds) | recall@10 |");
console.log("|---|---|---|---|---|");
contestants.forEach((c, i) =>
  console.log(`| ${c.name} | ${c.isa} | ${c.buildSeconds.toFixed(1)} | ${median(qps[i]!).toFixed(0)} | ${recall[i]!.toFixed(3)} |`)
);
