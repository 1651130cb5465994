import { afterEach, expect, test } from "bun:test";
import { createAgentPool } from "../../src/gateway/agents";
import { createIndexer, type Indexer } from "../../src/gateway/indexer";
import { log, randomVector, rng, testAgent, type TestAgent } from "./cluster";
import { overriding } from "./faults";

const D = 8;
let indexer: Indexer | undefined;
let agents: TestAgent[] = [];
afterEach(async () => {
  await indexer?.stop();
  await Promise.all(agents.map((a) => a.engine.close()));
  indexer = undefined;
  agents = [];
});

async function put(a: TestAgent, n: number, seed: number) {
  const r = rng(seed);
  for (let i = 0; i < n; i++) await a.engine.insert(`${a.name}-${seed}-${i}`, Float32Array.from(randomVector(r, D)), 0n, false);
}

/** agents whose CreateIndex/SaveIndex calls are counted, with the peak concurrency */
async function tracked(n: number) {
  const stats = { inFlight: 0, peak: 0, created: [] as string[], saved: [] as string[] };
  const out: TestAgent[] = [];
  for (let i = 1; i <= n; i++) {
    const name = `agent-${i}`;
    let engine: TestAgent["engine"] | undefined;
    const a = await testAgent(name, D, "direct", overriding({
      "core.v1.Agent": {
        createIndex: (async () => {
          stats.inFlight++;
          stats.peak = Math.max(stats.peak, stats.inFlight);
          await new Promise((r) => setTimeout(r, 20));
          await engine!.createIndex(0);
          stats.inFlight--;
          stats.created.push(name);
          return {};
        }) as never,
        saveIndex: (async () => {
          stats.saved.push(name);
          return {};
        }) as never,
      },
    }));
    engine = a.engine;
    out.push(a);
  }
  return { stats, agents: out };
}

test("CreateIndex for agents over the threshold, then for agents whose writes went quiet; one at a time", async () => {
  const t = await tracked(3);
  agents = t.agents;
  const pool = createAgentPool(agents.map((a) => a.handle));
  indexer = createIndexer(pool, { checkIndexIntervalMs: 0, createIndexThreshold: 10, saveIntervalMs: 0, log });
  await put(agents[0]!, 12, 1); // over the threshold
  await put(agents[1]!, 11, 2); // over the threshold
  await put(agents[2]!, 3, 3); // below: waits until it stops growing
  expect((await indexer.tick()).sort()).toEqual(["agent-1", "agent-2"]);
  expect(t.stats.peak).toBe(1);
  expect(agents[0]!.engine.counts().uncommitted).toBe(0);
  expect(agents[2]!.engine.counts().uncommitted).toBe(3);
  // placement sees the fresh counts
  expect(agents.map((a) => a.handle.stored())).toEqual(agents.map((a) => a.engine.counts().stored));

  await put(agents[2]!, 2, 4); // still growing: not yet
  expect(await indexer.tick()).toEqual([]);
  expect(await indexer.tick()).toEqual(["agent-3"]); // quiet since the last tick
  expect(agents[2]!.engine.counts().uncommitted).toBe(0);
  expect(await indexer.tick()).toEqual([]);
});

test("timers: periodic CreateIndex and SaveIndex run until stop()", async () => {
  const t = await tracked(2);
  agents = t.agents;
  const pool = createAgentPool(agents.map((a) => a.handle));
  indexer = createIndexer(pool, { checkIndexIntervalMs: 30, createIndexThreshold: 1, saveIntervalMs: 50, log });
  indexer.start();
  await put(agents[0]!, 2, 5);
  const deadline = Date.now() + 3000;
  while ((t.stats.created.length === 0 || t.stats.saved.length < 2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(t.stats.created).toContain("agent-1");
  expect(new Set(t.stats.saved)).toEqual(new Set(["agent-1", "agent-2"]));
  await indexer.stop();
  const saved = t.stats.saved.length;
  await new Promise((r) => setTimeout(r, 150));
  expect(t.stats.saved.length).toBe(saved);
});
