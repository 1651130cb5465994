// A CreateIndex of several build steps leaves every vector findable: the index walks
// the graph once, after the last step (native/reachability.hpp), and again when
// removals during the build end it before that step. 2048-d Gaussian vectors make
// 16 MiB build steps of 2,048 vectors, and a graph at M 8 that strands about one in ten.
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { createEngine, type Engine } from "../../../src/agent/engine";
import type { GraphRepair } from "../../../src/index/types";
import { gaussianVectors } from "../../index/vectors";
import { engineOptions } from "./helpers";

setDefaultTimeout(60_000);

const D = 2048;
const N = 2500;
const data = gaussianVectors(N, D, 2048);
const row = (i: number) => data.subarray(i * D, (i + 1) * D);
const engines: Engine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

async function opened(): Promise<{ engine: Engine; repairs: GraphRepair[] }> {
  const repairs: GraphRepair[] = [];
  const engine = await createEngine(engineOptions({ dimension: D, connectivity: 8, expansionAdd: 64, indexThreads: 2 }), {
    onBackgroundError: (what, err) => console.error(what, err),
    onGraphRepaired: (_where, r) => repairs.push(r),
  });
  engines.push(engine);
  await Promise.all(Array.from({ length: N }, (_, i) => engine.insert(`g${i}`, row(i), BigInt(i + 1), false)));
  return { engine, repairs };
}

/** ids whose own vector does not come back first, at ef 64 and then at ef N */
async function lost(engine: Engine, ids: number[]): Promise<number[]> {
  const missed: number[] = [];
  for (const i of ids) {
    const at = async (expansion: number) => (await engine.search(row(i), { num: 1, radius: -1, expansion }))[0]?.id;
    if ((await at(64)) !== `g${i}` && (await at(N)) !== `g${i}`) missed.push(i);
  }
  return missed;
}

test("a build of several steps repairs the graph once it is whole: every vector is found", async () => {
  const { engine, repairs } = await opened();
  await engine.createIndex(0);
  expect(engine.counts().uncommitted).toBe(0);
  expect(repairs.length).toBe(1);
  expect(repairs[0]!.relinked).toBeGreaterThan(10);
  expect(await lost(engine, [...Array(N).keys()])).toEqual([]);
});

test("removals during the build that end it early still leave every vector found", async () => {
  const { engine, repairs } = await opened();
  const building = engine.createIndex(0);
  // while the first step runs: the last step then takes fewer than the build counted on
  const removed = new Set<number>();
  for (let i = N - 1; i >= N - 300; i--) {
    await engine.remove(`g${i}`);
    removed.add(i);
  }
  await building;
  expect(engine.counts()).toMatchObject({ stored: N - removed.size, uncommitted: 0 });
  // the walk ran once, after the build: the step that was to repair never came
  expect(repairs.length).toBe(1);
  expect(await lost(engine, [...Array(N).keys()].filter((i) => !removed.has(i)))).toEqual([]);
});
