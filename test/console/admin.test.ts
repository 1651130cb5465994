// What the console reads from alvd.cluster.v1.Admin beyond the Vald API, on real
// processes: a server (no embedded agent, --replicas 2) and three tunnelled agents.
// Agents reports each agent's kernels, memory, uptime and heartbeat; Rates turns the
// server's own counters into per-window rates and latency quantiles, counting inserted
// vectors (not calls); Access says what a key may do; and while the repair is held to
// one copy a second, Status names under-replicated ids that really are.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { quantile } from "../../src/server/rates";
import { startAgent, startServer, vectors, waitForAgents, type AgentProc, type ServerProc } from "../lib/cluster";
import { admin, eventually, grpcClient, holdings } from "../lib/heal";

setDefaultTimeout(60_000);

const DIM = 8;

describe("quantile from cumulative histogram buckets", () => {
  const bounds = [0.001, 0.002, 0.005, Infinity];
  test("interpolates inside the bucket the rank falls in", () => {
    // 10 observations: 4 ≤ 1 ms, 4 in (1, 2] ms, 2 in (2, 5] ms
    const cumulative = [4, 8, 10, 10];
    expect(quantile(0.5, bounds, cumulative)).toBeCloseTo(0.00125, 9);
    expect(quantile(0.2, bounds, cumulative)).toBeCloseTo(0.0005, 9);
    expect(quantile(0.99, bounds, cumulative)).toBeCloseTo(0.002 + 0.003 * (1.9 / 2), 9);
  });
  test("the open last bucket answers the highest finite bound; no observations answer 0", () => {
    expect(quantile(0.99, bounds, [0, 0, 1, 10])).toBe(0.005);
    expect(quantile(0.5, bounds, [0, 0, 0, 0])).toBe(0);
  });
});

describe("Admin on a server with three agents", () => {
  let server: ServerProc;
  const agents: AgentProc[] = [];
  const data = vectors(60, DIM, 5);

  beforeAll(async () => {
    server = await startServer({ dimension: DIM, embeddedAgent: false, extra: ["--replicas=2", "--agent-lost-after=1s", "--repair-rate=1"] });
    for (const name of ["adm-a", "adm-b", "adm-c"]) agents.push(await startAgent({ servers: [server.wsPort], name, dimension: DIM }));
    await waitForAgents(server, ["adm-a", "adm-b", "adm-c"]);
  });

  afterAll(async () => {
    for (const a of agents) await a.stop();
    await server?.stop();
  });

  test("Agents: each agent's own figures and its tunnel's heartbeat", async () => {
    const t0 = Date.now();
    const list = await admin(server).agents({});
    expect(list.agents.map((a) => a.name)).toEqual(["adm-a", "adm-b", "adm-c"]);
    for (const a of list.agents) {
      expect(a.error).toBe("");
      expect(a.embedded).toBe(false);
      expect(a.address).toBe("127.0.0.1");
      expect(a.isa).not.toBe("");
      expect(a.simd).toBe("auto");
      expect(a.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(a.rssBytes).toBeGreaterThan(10_000_000n);
      expect(Number(a.startedMs)).toBeLessThanOrEqual(Number(list.nowMs));
      expect(Number(a.startedMs)).toBeGreaterThan(t0 - 60_000);
      // heartbeats every 400 ms
      expect(Number(list.nowMs) - Number(a.lastHeardMs)).toBeLessThan(2000);
    }
  });

  test("Rates: per-family calls and quantiles, and inserted vectors rather than calls", async () => {
    const insert = grpcClient(Insert, server.grpcPort);
    const search = grpcClient(Search, server.grpcPort);
    const t0 = BigInt(Date.now());
    // one MultiInsert of 40, a stream of 21 (one refused: its id is taken), 30 searches
    await insert.multiInsert({ requests: data.slice(0, 40).map((d) => ({ vector: d, config: {} })) });
    const stream = async function* () {
      for (const d of [...data.slice(40), data[0]!]) yield { vector: d, config: {} };
    };
    let refused = 0;
    for await (const r of insert.streamInsert(stream())) if (r.payload.case === "status") refused++;
    expect(refused).toBe(1);
    for (let i = 0; i < 30; i++) await search.search({ vector: data[i]!.vector, config: { num: 3 } });
    let windows: Awaited<ReturnType<ReturnType<typeof admin>["rates"]>>["windows"] = [];
    await eventually(
      "the calls to be in the server's windows",
      async () => {
        windows = (await admin(server).rates({ sinceMs: t0 })).windows;
        const searches = windows.reduce((n, w) => n + (w.families.find((f) => f.family === "Search")?.callsPerSecond ?? 0) * w.seconds, 0);
        return Math.round(searches) === 30;
      },
      server,
      10_000,
    );
    const inserted = windows.reduce((n, w) => n + w.insertedPerSecond * w.seconds, 0);
    expect(Math.round(inserted)).toBe(60);
    const insertCalls = windows.reduce((n, w) => n + (w.families.find((f) => f.family === "Insert")?.callsPerSecond ?? 0) * w.seconds, 0);
    expect(Math.round(insertCalls)).toBe(2);
    const busy = windows.flatMap((w) => w.families.filter((f) => f.family === "Search"));
    for (const f of busy) {
      expect(f.p50Seconds).toBeGreaterThan(0);
      expect(f.p99Seconds).toBeGreaterThanOrEqual(f.p50Seconds);
      expect(f.errorsPerSecond).toBe(0);
    }
    // since_ms: only what ended after it
    const last = windows[windows.length - 1]!;
    expect((await admin(server).rates({ sinceMs: last.endMs })).windows.every((w) => w.endMs > last.endMs)).toBe(true);
  });

  test("Access: an open server lets everyone write", async () => {
    const a = await admin(server).access({});
    expect(a.keysRequired).toBe(false);
    expect(a.mayWrite).toBe(true);
  });

  test("Status: a lost agent leaves ids under-replicated, and the sample names them", async () => {
    await eventually("every vector at 2 copies", async () => [...(await holdings(agents)).values()].filter((c) => c.length === 2).length === data.length, server, 20_000);
    const gone = agents.pop()!;
    await gone.kill9();
    // lost after 1 s; the repair copies one vector a second, so the count stays up a while
    let sample: { id: string; copies: number }[] = [];
    let under = 0n;
    await eventually(
      "under-replicated ids named",
      async () => {
        const s = await admin(server).status({});
        sample = s.underreplicatedSample;
        under = s.underreplicatedIds;
        return sample.length > 0;
      },
      server,
      20_000,
    );
    expect(sample.length).toBeLessThanOrEqual(Math.min(100, Number(under)));
    const now = await holdings(agents);
    for (const u of sample) {
      expect(u.copies).toBe(1);
      // one copy left, or two if the repair reached it since
      expect([1, 2]).toContain(now.get(u.id)?.length ?? 0);
      expect(data.some((d) => d.id === u.id)).toBe(true);
    }
  });
});
