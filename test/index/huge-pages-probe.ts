// Run by huge-pages.test.ts in a process of its own: the AnonHugePages an index adds to a
// fresh process, and whether it reads back what went in. (In the test runner's process,
// other tests' indexes come and go and move the total.)
import { readFileSync } from "node:fs";
import { openIndex } from "../../src/index/addon.ts";
import { randomVectors } from "./vectors.ts";

const anonHugeKiB = () => Number(/AnonHugePages:\s+(\d+) kB/.exec(readFileSync("/proc/self/smaps_rollup", "utf8"))?.[1] ?? 0);
const dims = 1024;
const n = 6_000; // 24 MiB of vectors, plus the graph
const before = anonHugeKiB();
const ix = openIndex({ dimensions: dims, metric: "l2sq", quantization: "f32", connectivity: 8, expansionAdd: 8, expansionSearch: 16 }, "auto");
const all = randomVectors(n, dims, 5);
await ix.addAsync(Float64Array.from({ length: n }, (_, i) => i), all, 2);
const grownKiB = anonHugeKiB() - before;
let readsBack = true;
for (const key of [0, 123, n - 1]) {
  const want = all.subarray(key * dims, (key + 1) * dims);
  const got = ix.get(key);
  const exact = ix.exactSearch(want, 1);
  readsBack &&= got !== undefined && got.every((v, i) => v === want[i]) && exact.keys[0] === key && exact.distances[0] === 0;
}
console.log(JSON.stringify({ grownKiB, readsBack }));
