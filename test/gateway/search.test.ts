import { afterEach, describe, expect, test } from "bun:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { mergeResults, distance } from "../../src/gateway/aggregation";
import { fail, hang, hangCounting, overriding } from "./faults";
import { randomVector, rng, startCluster, testAgent, type TestCluster, codeOf } from "./cluster";

const D = 8;
let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

function l2sq(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (Math.fround(a[i]!) - Math.fround(b[i]!)) ** 2;
  return s;
}

async function load(c: TestCluster, n: number, seed: number): Promise<Map<string, number[]>> {
  const r = rng(seed);
  const data = new Map<string, number[]>();
  const requests = Array.from({ length: n }, (_, i) => {
    const v = randomVector(r, D);
    data.set(`id-${i}`, v);
    return { vector: { id: `id-${i}`, vector: v } };
  });
  await c.client.insert.multiInsert({ requests });
  return data;
}

function bruteForce(data: Map<string, number[]>, q: number[], k: number): string[] {
  return [...data]
    .map(([id, v]) => ({ id, d: l2sq(q, v) }))
    .sort((a, b) => a.d - b.d)
    .slice(0, k)
    .map((x) => x.id);
}

describe("aggregation", () => {
  test("k-way merge: sorted, deduplicated (nearest copy wins), cut to num", () => {
    const a = [distance("x", 0.1), distance("y", 0.5), distance("z", 0.9)];
    const b = [distance("y", 0.4), distance("w", 0.6)];
    const c = [distance("x", 0.1), distance("v", 0.2)];
    expect(mergeResults([a, b, c], 4).map((d) => [d.id, d.distance])).toEqual([
      ["x", 0.1],
      ["v", 0.2],
      ["y", 0.4],
      ["w", 0.6],
    ]);
    expect(mergeResults([a, b, c], 100).map((d) => d.id)).toEqual(["x", "v", "y", "w", "z"]);
    expect(mergeResults([[], a], 2).map((d) => d.id)).toEqual(["x", "y"]);
    // an unsorted list is sorted rather than trusted
    expect(mergeResults([[distance("b", 2), distance("a", 1)]], 2).map((d) => d.id)).toEqual(["a", "b"]);
  });
});

describe("search over several agents", () => {
  test("results equal brute force over all agents (replicas deduplicated, sorted, cut to num)", async () => {
    const c = (cluster = await startCluster(3, { replicas: 2, dimension: D }));
    const data = await load(c, 300, 11);
    const info = await c.client.index.indexInfo({});
    expect(info.stored + info.uncommitted).toBe(600);
    const r = rng(12);
    for (let q = 0; q < 20; q++) {
      const query = randomVector(r, D);
      for (const rpc of ["search", "linearSearch"] as const) {
        const res = await c.client.search[rpc]({ vector: query, config: { num: 10, requestId: `q${q}` } });
        expect(res.requestId).toBe(`q${q}`);
        expect(res.results.map((d) => d.id)).toEqual(bruteForce(data, query, 10));
        const ds = res.results.map((d) => d.distance);
        expect(ds).toEqual([...ds].sort((x, y) => x - y));
      }
    }
  });

  test("over built graphs: recall against brute force, and the graphs really answer", async () => {
    const c = (cluster = await startCluster(3, { replicas: 1, dimension: D }));
    const data = await load(c, 3000, 31);
    await c.client.agent.createIndex({ poolSize: 0 });
    // every vector is in a graph now, none left to the exact scan of uncommitted ones
    for (const a of c.agents) expect(a.engine.counts().uncommitted).toBe(0);
    expect((await c.client.index.indexInfo({})).uncommitted).toBe(0);
    const r = rng(32);
    let found = 0;
    const queries = 40;
    for (let q = 0; q < queries; q++) {
      const query = randomVector(r, D);
      const truth = bruteForce(data, query, 10);
      const res = await c.client.search.search({ vector: query, config: { num: 10 } });
      expect(res.results).toHaveLength(10);
      const ds = res.results.map((d) => d.distance);
      expect(ds).toEqual([...ds].sort((x, y) => x - y));
      for (const hit of res.results) {
        // every reported distance is the true one for that id
        expect(hit.distance).toBeCloseTo(Math.sqrt(l2sq(query, data.get(hit.id)!)), 4);
      }
      found += res.results.filter((d) => truth.includes(d.id)).length;
    }
    // HNSW is approximate; at this ef (512) over 1000 vectors per agent it misses almost nothing
    expect(found / (queries * 10)).toBeGreaterThanOrEqual(0.98);
  });

  test("SearchByID: the id's own vector, so the id comes first", async () => {
    const c = (cluster = await startCluster(3, { replicas: 1, dimension: D }));
    const data = await load(c, 100, 13);
    for (const rpc of ["searchByID", "linearSearchByID"] as const) {
      const res = await c.client.search[rpc]({ id: "id-42", config: { num: 5 } });
      expect(res.results[0]!.id).toBe("id-42");
      expect(res.results.map((d) => d.id)).toEqual(bruteForce(data, data.get("id-42")!, 5));
    }
    expect(await codeOf(c.client.search.searchByID({ id: "missing", config: { num: 5 } }))).toBe(Code.NotFound);
  });

  test("NotFound when nothing is stored; InvalidArgument for num = 0", async () => {
    const c = (cluster = await startCluster(2, { dimension: D }));
    expect(await codeOf(c.client.search.search({ vector: randomVector(rng(1), D), config: { num: 3 } }))).toBe(Code.NotFound);
    expect(await codeOf(c.client.search.search({ vector: randomVector(rng(1), D), config: { num: 0 } }))).toBe(Code.InvalidArgument);
    expect(await codeOf(c.client.search.search({ vector: randomVector(rng(1), D) }))).toBe(Code.InvalidArgument);
  });

  test("partial answers: a failing agent and a lost one are left out", async () => {
    const agents = [
      await testAgent("agent-1", D),
      await testAgent("agent-2", D, "direct", overriding({ "vald.v1.Search": { search: fail(Code.Internal) } })),
      await testAgent("agent-3", D, "direct", overriding({ "vald.v1.Search": { search: fail(Code.Unavailable, "tunnel closed") } })),
    ];
    const c = (cluster = await startCluster(3, { replicas: 1, dimension: D, agents }));
    await load(c, 90, 14);
    const onFirst = new Set([...agents[0]!.engine.list()].map((v) => v.id));
    const res = await c.client.search.search({ vector: randomVector(rng(15), D), config: { num: 200 } });
    expect(res.results.length).toBe(onFirst.size);
    for (const d of res.results) expect(onFirst.has(d.id)).toBe(true);
    // more results wanted than the live part can give: NotFound (Vald's min_num rule)
    expect(await codeOf(c.client.search.search({ vector: randomVector(rng(15), D), config: { num: 200, minNum: 100 } }))).toBe(Code.NotFound);
  });

  test("an agent hanging past Search.Config.timeout does not hold the answer", async () => {
    // No upper bound on the time (2 noisy cores): the hanging agent only ever ends when
    // the gateway gives up on it, so an answer at all, with the hang's signal fired,
    // shows the deadline did the work.
    const hanging = hangCounting();
    const agents = [await testAgent("agent-1", D), await testAgent("agent-2", D, "direct", overriding({ "vald.v1.Search": { search: hanging.handler } }))];
    const c = (cluster = await startCluster(2, { replicas: 1, dimension: D, agents }));
    await load(c, 60, 16);
    const t0 = performance.now();
    const res = await c.client.search.search({ vector: randomVector(rng(17), D), config: { num: 5, timeout: 150_000_000n } });
    expect(res.results).toHaveLength(5);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(hanging.aborted()).toBe(1);
    // the client's own deadline also bounds it (no config timeout; the default would be 3 s)
    const res2 = await c.client.search.search({ vector: randomVector(rng(17), D), config: { num: 5 } }, { timeoutMs: 1500 });
    expect(res2.results).toHaveLength(5);
    expect(hanging.aborted()).toBe(2);
    // too few results before the deadline: DeadlineExceeded, not NotFound
    expect(await codeOf(c.client.search.search({ vector: randomVector(rng(17), D), config: { num: 60, minNum: 60, timeout: 100_000_000n } }))).toBe(Code.DeadlineExceeded);
  });

  test("all agents failing: the most meaningful agent error", async () => {
    const agents = [
      await testAgent("agent-1", D, "direct", overriding({ "vald.v1.Search": { search: fail(Code.Unavailable) } })),
      await testAgent("agent-2", D, "direct", overriding({ "vald.v1.Search": { search: fail(Code.Internal, "disk on fire") } })),
    ];
    const c = (cluster = await startCluster(2, { dimension: D, agents }));
    try {
      await c.client.search.search({ vector: randomVector(rng(18), D), config: { num: 3 } });
      throw new Error("expected failure");
    } catch (e) {
      const err = ConnectError.from(e);
      expect(err.code).toBe(Code.Internal);
      expect(err.rawMessage).toContain("disk on fire");
    }
  });

  test("MultiSearch answers in order; StreamSearch puts per-item failures in status and goes on", async () => {
    const c = (cluster = await startCluster(2, { replicas: 1, dimension: D }));
    const data = await load(c, 50, 19);
    const ids = ["id-3", "id-7", "id-11"];
    const multi = await c.client.search.multiSearch({ requests: ids.map((id) => ({ vector: data.get(id)!, config: { num: 1 } })) });
    expect(multi.responses.map((r) => r.results[0]!.id)).toEqual(ids);

    async function* requests() {
      yield { vector: data.get("id-1")!, config: { num: 1 } };
      yield { vector: data.get("id-2")!, config: { num: 0 } }; // invalid
      yield { vector: [1, 2, 3], config: { num: 1 } }; // wrong dimension
      yield { vector: data.get("id-4")!, config: { num: 1 } };
    }
    const out = [];
    for await (const r of c.client.search.streamSearch(requests())) out.push(r);
    expect(out.map((r) => r.payload.case)).toEqual(["response", "status", "status", "response"]);
    expect(out[0]!.payload.case === "response" && out[0]!.payload.value.results[0]!.id).toBe("id-1");
    expect(out[1]!.payload.case === "status" && out[1]!.payload.value.code).toBe(Code.InvalidArgument);
    expect(out[2]!.payload.case === "status" && out[2]!.payload.value.code).toBe(Code.InvalidArgument);
    expect(out[3]!.payload.case === "response" && out[3]!.payload.value.results[0]!.id).toBe("id-4");

    const byId = [];
    for await (const r of c.client.search.streamSearchByID((async function* () {
      yield { id: "id-5", config: { num: 2 } };
      yield { id: "nope", config: { num: 2 } };
    })())) byId.push(r);
    expect(byId.map((r) => r.payload.case)).toEqual(["response", "status"]);
    expect(byId[1]!.payload.case === "status" && byId[1]!.payload.value.code).toBe(Code.NotFound);
    // Multi* fails as a whole when an item fails (Vald)
    expect(await codeOf(c.client.search.multiSearchByID({ requests: [{ id: "id-1", config: { num: 1 } }, { id: "nope", config: { num: 1 } }] }))).toBe(Code.NotFound);
  });

  test("a client abandoning a stream mid-way leaves the gateway serving", async () => {
    const c = (cluster = await startCluster(2, { replicas: 1, dimension: D }));
    const data = await load(c, 20, 20);
    const ac = new AbortController();
    async function* endless() {
      for (let i = 0; ; i++) {
        yield { vector: data.get(`id-${i % 20}`)!, config: { num: 1 } };
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    let got = 0;
    try {
      for await (const _ of c.client.search.streamSearch(endless(), { signal: ac.signal })) {
        if (++got === 3) ac.abort();
      }
    } catch (e) {
      expect(ConnectError.from(e).code).toBe(Code.Canceled);
    }
    expect(got).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 50));
    const res = await c.client.search.search({ vector: data.get("id-5")!, config: { num: 1 } });
    expect(res.results[0]!.id).toBe("id-5");
  });
});
