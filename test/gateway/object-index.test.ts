import { afterEach, describe, expect, test } from "bun:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { fail, overriding } from "./faults";
import { randomVector, rng, startCluster, testAgent, type TestCluster, codeOf } from "./cluster";

const D = 8;
let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function fill(c: TestCluster, n: number, seed = 21): Promise<Map<string, number[]>> {
  const r = rng(seed);
  const data = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const v = randomVector(r, D);
    data.set(`o${i}`, v);
    await c.client.insert.insert({ vector: { id: `o${i}`, vector: v } });
  }
  return data;
}

describe("object reads", () => {
  test("Exists / GetObject / GetTimestamp from any holder", async () => {
    const c = (cluster = await startCluster(3, { replicas: 2, dimension: D }));
    const data = await fill(c, 10);
    expect((await c.client.object.exists({ id: "o3" })).id).toBe("o3");
    const v = await c.client.object.getObject({ id: { id: "o3" } });
    expect(v.id).toBe("o3");
    expect(v.vector).toEqual([...Float32Array.from(data.get("o3")!)]);
    expect((await c.client.object.getTimestamp({ id: { id: "o3" } })).timestamp).toBeGreaterThan(0n);
    // legacy core.v1.Agent/GetTimestamp on the gateway
    expect((await c.client.agent.getTimestamp({ id: { id: "o3" } })).id).toBe("o3");
  });

  test("StreamGetObject: one answer per request, misses as NotFound status", async () => {
    const c = (cluster = await startCluster(2, { replicas: 1, dimension: D }));
    await fill(c, 5);
    const out = [];
    for await (const r of c.client.object.streamGetObject((async function* () {
      yield { id: { id: "o1" } };
      yield { id: { id: "missing" } };
      yield { id: { id: "o4" } };
    })())) out.push(r);
    expect(out.map((r) => (r.payload.case === "vector" ? r.payload.value.id : r.payload.value?.code))).toEqual(["o1", Code.NotFound, "o4"]);
  });

  test("StreamListObject merges every agent, each id once despite replicas", async () => {
    const c = (cluster = await startCluster(3, { replicas: 2, dimension: D }));
    const data = await fill(c, 40);
    const ids: string[] = [];
    for await (const r of c.client.object.streamListObject({})) {
      expect(r.payload.case).toBe("vector");
      if (r.payload.case === "vector") ids.push(r.payload.value.id);
    }
    expect(ids.length).toBe(40);
    expect(new Set(ids)).toEqual(new Set(data.keys()));
  });

  test("a lost replica does not fail reads or writes when others answer", async () => {
    const agents = [
      await testAgent("agent-1", D),
      await testAgent("agent-2", D, "direct", overriding({
        "vald.v1.Object": { exists: fail(Code.Unavailable), getObject: fail(Code.Unavailable) },
        "vald.v1.Remove": { remove: fail(Code.Unavailable) },
      })),
    ];
    const c = (cluster = await startCluster(2, { replicas: 2, dimension: D, agents }));
    await c.client.insert.insert({ vector: { id: "x", vector: randomVector(rng(1), D) } });
    expect((await c.client.object.exists({ id: "x" })).id).toBe("x");
    expect((await c.client.object.getObject({ id: { id: "x" } })).id).toBe("x");
    const rm = await c.client.remove.remove({ id: { id: "x" } });
    expect(rm.name).toBe("agent-1");
    // NotFound, not Unavailable: the live agent answered
    expect(await codeOf(c.client.object.exists({ id: "x" }))).toBe(Code.NotFound);
  });
});

test("an insert replica lost mid-call is replaced by the next live agent", async () => {
  const agents = [
    await testAgent("agent-1", D),
    await testAgent("agent-2", D, "direct", overriding({ "vald.v1.Insert": { insert: fail(Code.Unavailable, "tunnel closed") } })),
    await testAgent("agent-3", D),
  ];
  const c = (cluster = await startCluster(3, { replicas: 2, dimension: D, agents }));
  for (let i = 0; i < 6; i++) {
    const loc = await c.client.insert.insert({ vector: { id: `r${i}`, vector: randomVector(rng(i), D) } });
    expect(loc.name).toBe("agent-1,agent-3");
  }
  expect(agents.map((a) => a.engine.counts().stored)).toEqual([6, 0, 6]);
  // no spare agent left: the insert succeeds with the copy that was stored
  await c.close();
  const again = [
    await testAgent("agent-1", D),
    await testAgent("agent-2", D, "direct", overriding({ "vald.v1.Insert": { insert: fail(Code.Unavailable, "tunnel closed") } })),
  ];
  const c2 = (cluster = await startCluster(2, { replicas: 2, dimension: D, agents: again }));
  expect((await c2.client.insert.insert({ vector: { id: "x", vector: randomVector(rng(9), D) } })).name).toBe("agent-1");
});

describe("streams of writes", () => {
  test("StreamInsert: per-item statuses in order, stream continues", async () => {
    const c = (cluster = await startCluster(3, { replicas: 2, dimension: D }));
    const r = rng(22);
    async function* reqs() {
      for (let i = 0; i < 20; i++) yield { vector: { id: `s${i}`, vector: randomVector(r, D) } };
      yield { vector: { id: "s3", vector: randomVector(r, D) } }; // duplicate
      yield { vector: { id: "bad", vector: [1, 2] } }; // wrong dimension
      yield { vector: { id: "s20", vector: randomVector(r, D) } };
    }
    const out = [];
    for await (const res of c.client.insert.streamInsert(reqs())) out.push(res);
    expect(out).toHaveLength(23);
    out.slice(0, 20).forEach((res, i) => {
      expect(res.payload.case).toBe("location");
      expect(res.payload.case === "location" && res.payload.value.uuid).toBe(`s${i}`);
    });
    expect(out[20]!.payload.case === "status" && out[20]!.payload.value.code).toBe(Code.AlreadyExists);
    expect(out[21]!.payload.case === "status" && out[21]!.payload.value.code).toBe(Code.InvalidArgument);
    expect(out[22]!.payload.case === "location" && out[22]!.payload.value.uuid).toBe("s20");

    // StreamRemove / StreamUpdate / StreamUpsert the same way
    const rm = [];
    for await (const res of c.client.remove.streamRemove((async function* () {
      yield { id: { id: "s1" } };
      yield { id: { id: "s1" } };
    })())) rm.push(res.payload.case === "status" ? res.payload.value.code : "ok");
    expect(rm).toEqual(["ok", Code.NotFound]);
    const up = [];
    for await (const res of c.client.upsert.streamUpsert((async function* () {
      yield { vector: { id: "s1", vector: randomVector(r, D) } };
      yield { vector: { id: "s2", vector: randomVector(r, D) } };
    })())) up.push(res.payload.case === "location" ? res.payload.value.name.split(",").length : res.payload.value?.code);
    expect(up).toEqual([2, 2]);
    const upd = [];
    for await (const res of c.client.update.streamUpdate((async function* () {
      yield { vector: { id: "gone", vector: randomVector(r, D) } };
      yield { vector: { id: "s2", vector: randomVector(r, D) } };
    })())) upd.push(res.payload.case === "location" ? "ok" : res.payload.value?.code);
    expect(upd).toEqual([Code.NotFound, "ok"]);
  });

  test("writes to one id inside a stream or Multi* call apply in request order", async () => {
    const c = (cluster = await startCluster(3, { replicas: 1, dimension: D }));
    const r = rng(24);
    const vs = Array.from({ length: 6 }, () => randomVector(r, D));
    // Concurrent upserts of a new id would each see "absent" and insert on different agents.
    const out = [];
    for await (const res of c.client.upsert.streamUpsert((async function* () {
      for (const v of vs) yield { vector: { id: "same", vector: v } };
    })())) out.push(res.payload.case);
    expect(out).toEqual(new Array(6).fill("location"));
    const holders = c.agents.filter((a) => a.engine.exists("same"));
    expect(holders).toHaveLength(1);
    expect([...holders[0]!.engine.get("same").vector]).toEqual([...Float32Array.from(vs[5]!)]);
    const multi = await c.client.upsert.multiUpsert({ requests: vs.map((v) => ({ vector: { id: "other", vector: v } })) });
    expect(multi.locations).toHaveLength(6);
    expect(c.agents.filter((a) => a.engine.exists("other"))).toHaveLength(1);
  });

  test("Multi*: one failing item fails the call", async () => {
    const c = (cluster = await startCluster(2, { replicas: 1, dimension: D }));
    const r = rng(23);
    const locs = await c.client.insert.multiInsert({ requests: Array.from({ length: 50 }, (_, i) => ({ vector: { id: `m${i}`, vector: randomVector(r, D) } })) });
    expect(locs.locations.map((l) => l.uuid)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
    // MultiInsert is all-or-nothing when an id exists: nothing of the call is written
    expect(await codeOf(c.client.insert.multiInsert({ requests: [{ vector: { id: "m50", vector: randomVector(r, D) } }, { vector: { id: "m1", vector: randomVector(r, D) } }] }))).toBe(Code.AlreadyExists);
    expect(await codeOf(c.client.object.exists({ id: "m50" }))).toBe(Code.NotFound);
    const upd = await c.client.update.multiUpdate({ requests: [{ vector: { id: "m2", vector: randomVector(r, D) } }] });
    expect(upd.locations).toHaveLength(1);
    const rm = await c.client.remove.multiRemove({ requests: [{ id: { id: "m2" } }, { id: { id: "m3" } }] });
    expect(rm.locations.map((l) => l.uuid)).toEqual(["m2", "m3"]);
    const ups = await c.client.upsert.multiUpsert({ requests: [{ vector: { id: "m2", vector: randomVector(r, D) } }, { vector: { id: "m4", vector: randomVector(r, D) } }] });
    expect(ups.locations.map((l) => l.uuid)).toEqual(["m2", "m4"]);
  });
});

describe("index and flush", () => {
  test("IndexInfo sums agents (replicas counted on each), IndexDetail per agent", async () => {
    const c = (cluster = await startCluster(3, { replicas: 2, dimension: D }));
    const data = await fill(c, 15);
    // built first, so stored means the same whether or not it counts uncommitted vectors
    await c.client.agent.createIndex({ poolSize: 0 });
    const info = await c.client.index.indexInfo({});
    // 15 vectors on 2 replicas each: exactly 30, which a broken replication cannot reach
    expect(info.stored).toBe(30);
    expect(info.uncommitted).toBe(0);
    for (const id of data.keys()) expect(c.agents.filter((a) => a.engine.exists(id))).toHaveLength(2);
    const detail = await c.client.index.indexDetail({});
    expect(Object.keys(detail.counts).sort()).toEqual(["agent-1", "agent-2", "agent-3"]);
    expect(detail.replica).toBe(2);
    expect(detail.liveAgents).toBe(3);
    const perAgent = Object.values(detail.counts);
    expect(perAgent.reduce((s, x) => s + x.stored, 0)).toBe(info.stored);
    expect(perAgent.reduce((s, x) => s + x.uncommitted, 0)).toBe(info.uncommitted);
    for (const [name, cnt] of Object.entries(detail.counts)) {
      // the engine's own count holds every vector; the wire splits it as Vald does
      expect(cnt.stored + cnt.uncommitted).toBe(c.agents.find((a) => a.name === name)!.engine.counts().stored);
    }
    // legacy core.v1.Agent/IndexInfo on the gateway answers the same
    expect((await c.client.agent.indexInfo({})).stored).toBe(info.stored);
  });

  test("IndexProperty and IndexStatisticsDetail are keyed by agent name", async () => {
    const c = (cluster = await startCluster(2, { dimension: D }));
    await fill(c, 4);
    const prop = await c.client.index.indexProperty({});
    expect(Object.keys(prop.details).sort()).toEqual(["agent-1", "agent-2"]);
    expect(prop.details["agent-1"]!.dimension).toBe(D);
    const st = await c.client.index.indexStatisticsDetail({});
    expect(Object.keys(st.details).sort()).toEqual(["agent-1", "agent-2"]);
    const merged = await c.client.index.indexStatistics({});
    const sum = Object.values(st.details).reduce((s, x) => s + x.numberOfObjects, 0n);
    // 4 vectors, one replica each: a merge that dropped or doubled an agent shows
    expect(sum).toBe(4n);
    expect(merged.numberOfObjects).toBe(sum);
  });

  test("Flush empties every agent; CreateIndex/SaveIndex reach every agent", async () => {
    const c = (cluster = await startCluster(3, { replicas: 2, dimension: D }));
    await fill(c, 12);
    await c.client.agent.createIndex({ poolSize: 0 });
    await c.client.agent.saveIndex({});
    for (const a of c.agents) expect(a.engine.counts().uncommitted).toBe(0);
    const res = await c.client.flush.flush({});
    expect(res.stored).toBe(0);
    for (const a of c.agents) expect(a.engine.counts().stored).toBe(0);
    expect(await codeOf(c.client.search.search({ vector: randomVector(rng(1), D), config: { num: 1 } }))).toBe(Code.NotFound);
  });

  test("Filter answers Unimplemented with an explanation", async () => {
    const c = (cluster = await startCluster(1, { dimension: D }));
    try {
      await c.client.filter.searchObject({ object: new Uint8Array([1]), config: { num: 1 } });
      throw new Error("expected Unimplemented");
    } catch (e) {
      const err = ConnectError.from(e);
      expect(err.code).toBe(Code.Unimplemented);
      expect(err.rawMessage).toContain("no vectorizer is configured");
    }
    const stream = async () => {
      for await (const _ of c.client.filter.streamInsertObject((async function* () {})()));
    };
    expect(await codeOf(stream())).toBe(Code.Unimplemented);
  });

  test("per-agent call metrics and fan-out latency are exported", async () => {
    const c = (cluster = await startCluster(2, { replicas: 1, dimension: D }));
    await fill(c, 3);
    await c.client.search.search({ vector: randomVector(rng(2), D), config: { num: 2 } });
    const text = await c.registry.metrics();
    expect(text).toMatch(/^alvd_gateway_agent_calls_total\{agent="agent-1",method="Search",code="ok"\} 1$/m);
    expect(text).toMatch(/^alvd_gateway_fanout_duration_seconds_count\{method="Search"\} 1$/m);
    expect(text).toMatch(/^alvd_gateway_agents 2$/m);
  });
});
