import { afterEach, expect, test } from "bun:test";
import { Code } from "@connectrpc/connect";
import { fail, overriding } from "./faults";
import { randomVector, rng, startCluster, testAgent, type TestCluster, codeOf } from "./cluster";

const D = 8;
let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

function requests(n: number, seed: number, prefix = "b") {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => ({ vector: { id: `${prefix}${i}`, vector: randomVector(r, D) } }));
}

function agentCalls(text: string, method: string): number {
  let n = 0;
  for (const m of text.matchAll(new RegExp(`alvd_gateway_agent_calls_total\\{agent="[^"]+",method="${method}",code="ok"\\} (\\d+)`, "g"))) n += Number(m[1]);
  return n;
}

test("MultiInsert: batched per agent, replicas placed evenly, locations in request order", async () => {
  const c = (cluster = await startCluster(3, { replicas: 2, dimension: D }));
  const reqs = requests(1200, 51);
  const res = await c.client.insert.multiInsert({ requests: reqs });
  expect(res.locations.map((l) => l.uuid)).toEqual(reqs.map((r) => r.vector.id));
  for (const [i, loc] of res.locations.entries()) {
    const holders = c.agents.filter((a) => a.engine.exists(reqs[i]!.vector.id)).map((a) => a.name);
    expect(holders).toHaveLength(2);
    expect(loc.name).toBe(holders.join(","));
  }
  expect(c.agents.map((a) => a.engine.counts().stored)).toEqual([800, 800, 800]);
  const text = await c.registry.metrics();
  // 2400 copies in chunks of 512 per agent (800 each → 2 calls per agent), not 2400 calls
  expect(agentCalls(text, "MultiInsert")).toBe(6);
  expect(agentCalls(text, "Insert")).toBe(0);
});

test("MultiInsert: an id existing anywhere rejects the whole call, nothing written", async () => {
  const c = (cluster = await startCluster(3, { replicas: 1, dimension: D }));
  await c.agents[1]!.engine.insert("b7", Float32Array.from(randomVector(rng(1), D)), 0n, false);
  expect(await codeOf(c.client.insert.multiInsert({ requests: requests(50, 52) }))).toBe(Code.AlreadyExists);
  expect(c.agents.map((a) => a.engine.counts().stored)).toEqual([0, 1, 0]);
  // skip_strict_exist_check writes through
  const reqs = requests(50, 52).map((r) => ({ ...r, config: { skipStrictExistCheck: true } }));
  expect((await c.client.insert.multiInsert({ requests: reqs })).locations).toHaveLength(50);
  // invalid item: nothing written either
  expect(await codeOf(c.client.insert.multiInsert({ requests: [...requests(3, 53, "z"), { vector: { id: "bad", vector: [1, 2, 3] } }] }))).toBe(Code.InvalidArgument);
  expect(await codeOf(c.client.object.exists({ id: "z0" }))).toBe(Code.NotFound);
  // an id twice in one call: handled one by one, the second is AlreadyExists
  expect(await codeOf(c.client.insert.multiInsert({ requests: [...requests(1, 54, "d"), ...requests(1, 55, "d")] }))).toBe(Code.AlreadyExists);
});

test("MultiInsert: a refusing agent rolls back the chunks others wrote", async () => {
  const agents = [
    await testAgent("agent-1", D),
    await testAgent("agent-2", D, "direct", overriding({ "vald.v1.Insert": { multiInsert: fail(Code.Internal, "disk full") } })),
  ];
  const c = (cluster = await startCluster(2, { replicas: 1, dimension: D, agents }));
  expect(await codeOf(c.client.insert.multiInsert({ requests: requests(100, 56) }))).toBe(Code.Internal);
  expect(agents.map((a) => a.engine.counts().stored)).toEqual([0, 0]);
});

test("MultiInsert: items of a lost agent are placed on the live ones", async () => {
  const agents = [
    await testAgent("agent-1", D),
    await testAgent("agent-2", D, "direct", overriding({ "vald.v1.Insert": { multiInsert: fail(Code.Unavailable, "tunnel closed"), insert: fail(Code.Unavailable, "tunnel closed") } })),
    await testAgent("agent-3", D),
  ];
  const c = (cluster = await startCluster(3, { replicas: 1, dimension: D, agents }));
  const res = await c.client.insert.multiInsert({ requests: requests(90, 57) });
  expect(res.locations).toHaveLength(90);
  for (const l of res.locations) expect(["agent-1", "agent-3"]).toContain(l.name);
  expect(agents[0]!.engine.counts().stored + agents[2]!.engine.counts().stored).toBe(90);
});
