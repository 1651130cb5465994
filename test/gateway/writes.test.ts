import { afterEach, describe, expect, test } from "bun:test";
import { Code } from "@connectrpc/connect";
import { createAgentPool } from "../../src/gateway/agents";
import { startCluster, randomVector, rng, type TestCluster, codeOf } from "./cluster";

const D = 8;
let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

function holders(c: TestCluster, id: string): string[] {
  return c.agents.filter((a) => a.engine.exists(id)).map((a) => a.name);
}

describe("insert placement", () => {
  test("replicas=2 of 3 agents: exactly 2 hold each vector, least-loaded first", async () => {
    const c = (cluster = await startCluster(3, { replicas: 2, dimension: D }));
    const r = rng(1);
    // agent-1 already stores 6 vectors, agent-2 3, agent-3 none.
    for (let i = 0; i < 6; i++) await c.agents[0]!.engine.insert(`pre1-${i}`, Float32Array.from(randomVector(r, D)), 0n, false);
    for (let i = 0; i < 3; i++) await c.agents[1]!.engine.insert(`pre2-${i}`, Float32Array.from(randomVector(r, D)), 0n, false);
    // IndexInfo refreshes the gateway's view of each agent's load.
    const info = await c.client.index.indexInfo({});
    // Vald counts: nothing committed yet (no CreateIndex), all 9 queued
    expect([info.stored, info.uncommitted]).toEqual([0, 9]);

    const loc = await c.client.insert.insert({ vector: { id: "v0", vector: randomVector(r, D) } });
    expect(holders(c, "v0")).toEqual(["agent-2", "agent-3"]);
    expect(loc.uuid).toBe("v0");
    expect(loc.name).toBe("agent-2,agent-3");
    expect(loc.ips).toEqual(["10.0.0.2", "10.0.0.3"]);

    // Keep inserting: agents fill evenly, every vector on exactly two agents.
    for (let i = 1; i < 30; i++) await c.client.insert.insert({ vector: { id: `v${i}`, vector: randomVector(r, D) } });
    for (let i = 0; i < 30; i++) expect(holders(c, `v${i}`)).toHaveLength(2);
    const counts = c.agents.map((a) => a.engine.counts().stored);
    expect(counts.reduce((x, y) => x + y, 0)).toBe(9 + 60);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(2);
  });

  test("replicas larger than the agent count is capped", async () => {
    const c = (cluster = await startCluster(2, { replicas: 5, dimension: D }));
    const loc = await c.client.insert.insert({ vector: { id: "a", vector: randomVector(rng(2), D) } });
    expect(loc.name).toBe("agent-1,agent-2");
    expect(holders(c, "a")).toEqual(["agent-1", "agent-2"]);
  });

  test("AlreadyExists when any agent holds the id, unless skip_strict_exist_check", async () => {
    const c = (cluster = await startCluster(3, { replicas: 1, dimension: D }));
    const r = rng(3);
    // Put the id on the most loaded agent so placement would choose another one.
    await c.agents[2]!.engine.insert("dup", Float32Array.from(randomVector(r, D)), 0n, false);
    for (let i = 0; i < 3; i++) await c.agents[2]!.engine.insert(`x${i}`, Float32Array.from(randomVector(r, D)), 0n, false);
    await c.client.index.indexInfo({});
    expect(await codeOf(c.client.insert.insert({ vector: { id: "dup", vector: randomVector(r, D) } }))).toBe(Code.AlreadyExists);
    expect(holders(c, "dup")).toEqual(["agent-3"]);
    const loc = await c.client.insert.insert({ vector: { id: "dup", vector: randomVector(r, D) }, config: { skipStrictExistCheck: true } });
    expect(loc.name).not.toBe("agent-3");
  });

  test("a replica refusing the write rolls back the copies already stored", async () => {
    const c = (cluster = await startCluster(2, { replicas: 2, dimension: D }));
    // agent-2 already has the id, but the gateway is told to skip the cross-agent check
    // only for agents it did not choose: both are chosen, agent-2 refuses.
    await c.agents[1]!.engine.insert("taken", Float32Array.from(randomVector(rng(4), D)), 0n, false);
    expect(await codeOf(c.client.insert.insert({ vector: { id: "taken", vector: randomVector(rng(5), D) } }))).toBe(Code.AlreadyExists);
    expect(holders(c, "taken")).toEqual(["agent-2"]);
  });

  test("invalid requests are rejected before any agent is asked", async () => {
    const c = (cluster = await startCluster(1, { dimension: D }));
    expect(await codeOf(c.client.insert.insert({ vector: { id: "", vector: randomVector(rng(6), D) } }))).toBe(Code.InvalidArgument);
    expect(await codeOf(c.client.insert.insert({ vector: { id: "a", vector: [1] } }))).toBe(Code.InvalidArgument);
    // wrong dimension is the agent's check, relayed as is
    expect(await codeOf(c.client.insert.insert({ vector: { id: "a", vector: [1, 2, 3] } }))).toBe(Code.InvalidArgument);
  });
});

describe("writes on holders", () => {
  test("update, upsert and remove reach exactly the replicas holding the id", async () => {
    const c = (cluster = await startCluster(3, { replicas: 2, dimension: D }));
    const r = rng(7);
    await c.client.insert.insert({ vector: { id: "u", vector: randomVector(r, D) } });
    const where = holders(c, "u");
    expect(where).toHaveLength(2);

    const v2 = randomVector(r, D);
    const loc = await c.client.update.update({ vector: { id: "u", vector: v2 } });
    expect(loc.name).toBe(where.join(","));
    for (const a of c.agents.filter((a) => where.includes(a.name))) {
      expect([...a.engine.get("u").vector]).toEqual([...Float32Array.from(v2)]);
    }
    // identical vector: AlreadyExists (Vald), unless skip_strict_exist_check
    expect(await codeOf(c.client.update.update({ vector: { id: "u", vector: v2 } }))).toBe(Code.AlreadyExists);

    const v3 = randomVector(r, D);
    const up = await c.client.upsert.upsert({ vector: { id: "u", vector: v3 } });
    expect(up.name).toBe(where.join(","));
    expect(holders(c, "u")).toEqual(where);

    const ts = await c.client.update.updateTimestamp({ id: "u", timestamp: 12345n, force: true });
    expect(ts.name).toBe(where.join(","));
    expect((await c.client.object.getTimestamp({ id: { id: "u" } })).timestamp).toBe(12345n);

    const rm = await c.client.remove.remove({ id: { id: "u" } });
    expect(rm.name).toBe(where.join(","));
    expect(holders(c, "u")).toEqual([]);
  });

  test("NotFound when no agent holds the id; upsert of a new id inserts on fresh replicas", async () => {
    const c = (cluster = await startCluster(3, { replicas: 2, dimension: D }));
    const r = rng(8);
    expect(await codeOf(c.client.update.update({ vector: { id: "nope", vector: randomVector(r, D) } }))).toBe(Code.NotFound);
    expect(await codeOf(c.client.remove.remove({ id: { id: "nope" } }))).toBe(Code.NotFound);
    expect(await codeOf(c.client.update.updateTimestamp({ id: "nope", timestamp: 1n }))).toBe(Code.NotFound);
    expect(await codeOf(c.client.object.exists({ id: "nope" }))).toBe(Code.NotFound);
    expect(await codeOf(c.client.object.getObject({ id: { id: "nope" } }))).toBe(Code.NotFound);
    const loc = await c.client.upsert.upsert({ vector: { id: "new", vector: randomVector(r, D) } });
    expect(loc.name.split(",")).toHaveLength(2);
    expect(holders(c, "new")).toHaveLength(2);
  });

  test("RemoveByTimestamp merges every agent's removals", async () => {
    const c = (cluster = await startCluster(3, { replicas: 2, dimension: D }));
    const r = rng(9);
    for (let i = 0; i < 6; i++) {
      await c.client.insert.insert({ vector: { id: `t${i}`, vector: randomVector(r, D) }, config: { timestamp: BigInt(100 + i) } });
    }
    const res = await c.client.remove.removeByTimestamp({ timestamps: [{ timestamp: 103n, operator: 5 /* LT */ }] });
    expect(res.locations.map((l) => l.uuid).sort()).toEqual(["t0", "t1", "t2"]);
    for (const l of res.locations) expect(l.name.split(",")).toHaveLength(2);
    for (let i = 0; i < 6; i++) expect(holders(c, `t${i}`)).toHaveLength(i < 3 ? 0 : 2);
    expect(await codeOf(c.client.remove.removeByTimestamp({ timestamps: [{ timestamp: 1n, operator: 5 }] }))).toBe(Code.NotFound);
  });

  test("Unavailable with no agents, for every family", async () => {
    const c = (cluster = await startCluster(0, { agents: [], dimension: D }));
    const v = randomVector(rng(10), D);
    expect(await codeOf(c.client.insert.insert({ vector: { id: "a", vector: v } }))).toBe(Code.Unavailable);
    expect(await codeOf(c.client.update.update({ vector: { id: "a", vector: v } }))).toBe(Code.Unavailable);
    expect(await codeOf(c.client.upsert.upsert({ vector: { id: "a", vector: v } }))).toBe(Code.Unavailable);
    expect(await codeOf(c.client.remove.remove({ id: { id: "a" } }))).toBe(Code.Unavailable);
    expect(await codeOf(c.client.search.search({ vector: v, config: { num: 3 } }))).toBe(Code.Unavailable);
    expect(await codeOf(c.client.object.exists({ id: "a" }))).toBe(Code.Unavailable);
    expect(await codeOf(c.client.index.indexInfo({}))).toBe(Code.Unavailable);
    expect(await codeOf(c.client.flush.flush({}))).toBe(Code.Unavailable);
  });
});

test("createAgentPool: replace on reconnect, stale removal ignored", () => {
  const pool = createAgentPool();
  const a1 = { name: "a" } as never;
  const a2 = { name: "a" } as never;
  let changes = 0;
  pool.onChange(() => changes++);
  pool.add(a1);
  pool.add(a2);
  pool.remove(a1); // the old connection closing must not drop the new one
  expect(pool.list()).toEqual([a2]);
  pool.remove("a");
  expect(pool.list()).toEqual([]);
  expect(changes).toBe(3);
});
