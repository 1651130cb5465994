// The gateway with one agent that does not answer (a hung replica): covered searches
// answer without it, inserts go to another agent after the replica timeout, broadcasts
// stop waiting once a holder applied them, and --write-consistency acknowledges early.
import { afterEach, describe, expect, test } from "bun:test";
import type { HandlerContext } from "@connectrpc/connect";
import { createCoverage } from "../../src/gateway/coverage";
import { IdLocks } from "../../src/gateway/id-locks";
import { SearchBarrier } from "../../src/gateway/search-barrier";
import { delaying, overriding } from "./faults";
import { randomVector, rng, startCluster, testAgent, type TestCluster } from "./cluster";

const D = 8;
let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

/** never answers; tells why it was cancelled */
function hangRecording(reasons: string[]) {
  return (_req: unknown, ctx: HandlerContext) =>
    new Promise<never>((_, reject) => {
      ctx.signal.addEventListener("abort", () => {
        reasons.push(String((ctx.signal.reason as Error)?.message ?? ctx.signal.reason));
        reject(ctx.signal.reason);
      });
    });
}

const covered = () => {
  const c = createCoverage();
  c.clean(c.scanStarted(), 2);
  return c;
};

describe("a hung replica", () => {
  test("a covered search answers without it, with the answer all agents would give", async () => {
    const reasons: string[] = [];
    const hung = await testAgent("agent-3", D, "direct", overriding({ "vald.v1.Search": { search: hangRecording(reasons) as never } }));
    const agents = [await testAgent("agent-1", D), await testAgent("agent-2", D), hung];
    const c = (cluster = await startCluster(3, { replicas: 2, dimension: D, agents, coverage: covered() }));
    const r = rng(3);
    const data = Array.from({ length: 300 }, (_, i) => ({ id: `v${i}`, vector: randomVector(r, D) }));
    await c.client.insert.multiInsert({ requests: data.map((d) => ({ vector: d, config: {} })) });
    for (let q = 0; q < 10; q++) {
      const query = randomVector(r, D);
      const res = await c.client.search.search({ vector: query, config: { num: 10, timeout: 30_000_000_000n } });
      const exact = data
        .map((d) => ({ id: d.id, dist: Math.hypot(...d.vector.map((x, i) => x - query[i]!)) }))
        .sort((a, b) => a.dist - b.dist)
        .slice(0, 10)
        .map((d) => d.id);
      expect(res.results.map((x) => x.id)).toEqual(exact);
    }
    // it was not waited for: each call was cancelled once the others' answers covered it
    expect(reasons.length).toBe(10);
    expect(reasons[0]).toContain("answered by the replicas");
  });

  test("without the repair's word (no coverage) searches wait for it until their timeout", async () => {
    const reasons: string[] = [];
    const hung = await testAgent("agent-2", D, "direct", overriding({ "vald.v1.Search": { search: hangRecording(reasons) as never } }));
    const c = (cluster = await startCluster(2, { replicas: 2, dimension: D, agents: [await testAgent("agent-1", D), hung] }));
    await c.client.insert.insert({ vector: { id: "a", vector: randomVector(rng(4), D) } });
    const res = await c.client.search.search({ vector: randomVector(rng(5), D), config: { num: 1, timeout: 200_000_000n } });
    expect(res.results.map((x) => x.id)).toEqual(["a"]);
    expect(reasons[0]).toContain("did not answer within");
  });

  test("an insert goes to another agent once a chosen replica is silent past --replica-timeout", async () => {
    const reasons: string[] = [];
    const hung = await testAgent("agent-1", D, "direct", overriding({ "vald.v1.Insert": { insert: hangRecording(reasons) as never } }));
    const agents = [hung, await testAgent("agent-2", D), await testAgent("agent-3", D)];
    const c = (cluster = await startCluster(3, { replicas: 2, dimension: D, agents, replicaTimeoutMs: 100 }));
    for (let i = 0; i < 6; i++) {
      const loc = await c.client.insert.insert({ vector: { id: `i${i}`, vector: randomVector(rng(i), D) } });
      expect(loc.name).toBe("agent-2,agent-3");
    }
    // after the first stall, placement avoids it for a while instead of waiting on it every time
    expect(reasons.length).toBe(1);
  });

  test("an update stops waiting for a silent agent once a holder applied it, and lets its call run on", async () => {
    const reasons: string[] = [];
    const hung = await testAgent("agent-2", D, "direct", overriding({ "vald.v1.Update": { update: hangRecording(reasons) as never } }));
    const agents = [await testAgent("agent-1", D), hung];
    const c = (cluster = await startCluster(2, { replicas: 1, dimension: D, agents, replicaTimeoutMs: 100 }));
    await agents[0]!.engine.insert("u", Float32Array.from(randomVector(rng(6), D)), 0n, false);
    const loc = await c.client.update.update({ vector: { id: "u", vector: randomVector(rng(7), D) } });
    expect(loc.name).toBe("agent-1");
    await Bun.sleep(20);
    // not cancelled: a slow (not hung) agent still applies the write
    expect(reasons).toEqual([]);
  });

  test("--write-consistency 1 acknowledges after one copy; the slow replica follows, holding the id meanwhile", async () => {
    const slow = await testAgent("agent-2", D, "direct", delaying("vald.v1.Insert", "insert", 300));
    const locks = new IdLocks();
    const c = (cluster = await startCluster(2, { replicas: 2, dimension: D, agents: [await testAgent("agent-1", D), slow], writeConsistency: 1, locks, searches: new SearchBarrier() }));
    const loc = await c.client.insert.insert({ vector: { id: "w", vector: randomVector(rng(8), D) } });
    expect(loc.name).toBe("agent-1");
    expect(slow.engine.exists("w")).toBe(false);
    expect(locks.size).toBe(1); // the id stays held until the last copy is written
    while (!slow.engine.exists("w")) await Bun.sleep(10);
    while (locks.size > 0) await Bun.sleep(10);
  });
});
