// A hung agent (SIGSTOP: alive to the kernel, silent to us) among 3, --replicas 2, with
// searches and writes running: searches keep answering without it (its ids are on the
// others), inserts go to another agent after --replica-timeout, the server drops it at
// the missed heartbeats, and after SIGCONT the repair reconciles its late and stale
// copies. 0 failed requests throughout.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { startAgent, startServer, vectors, waitForAgents, type AgentProc, type ServerProc } from "../lib/cluster";
import { admin, eventually, grpcClient, holdings, replicationProblems, startLoad } from "../lib/heal";

const DIM = 8;
const data = vectors(3000, DIM, 31);

describe("SIGSTOP one of 3 agents, --replicas 2", () => {
  let server: ServerProc;
  let agents: AgentProc[];

  beforeAll(async () => {
    server = await startServer({ dimension: DIM, embeddedAgent: false, extra: ["--replicas=2", "--agent-lost-after=8s", "--replica-timeout=300ms"] });
    agents = await Promise.all(["h0", "h1", "h2"].map((name) => startAgent({ servers: [server.wsPort], name, dimension: DIM })));
    await waitForAgents(server, ["h0", "h1", "h2"]);
    const insert = grpcClient(Insert, server.grpcPort);
    for (let i = 0; i < data.length; i += 1000) await insert.multiInsert({ requests: data.slice(i, i + 1000).map((d) => ({ vector: d, config: {} })) });
    // a scan with every agent present has vouched for the copies
    await eventually("a clean scan of all 3 agents", async () => {
      const s = await admin(server).status({});
      return s.targetReplicas === 2 && s.underreplicatedIds === 0n && s.passes > 0n && !s.repairing;
    }, server, 30_000);
  });

  afterAll(async () => {
    for (const a of agents ?? []) a.proc.kill("SIGCONT");
    await Promise.all((agents ?? []).map((a) => a.stop()));
    await server?.stop();
  });

  test("searches and writes go on, the server drops it, and the repair reconciles it after SIGCONT", async () => {
    const load = startLoad({ port: server.grpcPort, dim: DIM, stable: data.slice(200), mutable: data.slice(0, 200).map((d) => d.id), removable: [], searchers: 4, writers: 2 });
    await Bun.sleep(500);
    const hung = agents[1]!;
    const before = load.stats.searches;
    hung.proc.kill("SIGSTOP");
    const t0 = performance.now();
    await Bun.sleep(300);
    const n1 = load.stats.searches;
    await Bun.sleep(300);
    const n2 = load.stats.searches;
    const stillListed = (await admin(server).status({})).members.find((m) => m.name === "h1")?.state === 1;
    // While the server still counts it connected, searches answer without it.
    if (stillListed) expect(n2 - n1).toBeGreaterThan(0);
    await eventually("h1 dropped", async () => (await admin(server).status({})).members.find((m) => m.name === "h1")?.state === 2, server, 30_000);
    const detectMs = performance.now() - t0;
    await Bun.sleep(1000);
    hung.proc.kill("SIGCONT");
    const stopped = load.stats.searches - before;
    console.log(`SIGSTOP: dropped after ${Math.round(detectMs)} ms; ${n2 - n1} searches in 300 ms while it was still listed; ${stopped} searches while stopped`);
    await eventually("h1 back", async () => (await admin(server).status({})).members.find((m) => m.name === "h1")?.state === 1, server, 30_000);
    const t1 = BigInt(Date.now());
    await eventually("reconciled", async () => {
      const s = await admin(server).status({});
      // (no change is made in the server's first --agent-lost-after: agents may still be dialling in)
      return s.underreplicatedIds === 0n && s.overreplicatedIds === 0n && s.staleCopies === 0n && s.lastPassMs > t1 && !s.repairing;
    }, server, 30_000);
    const s = await load.stop();
    expect(s.failures.slice(0, 5)).toEqual([]);
    expect(s.misses.slice(0, 5)).toEqual([]);
    expect(s.duplicates).toBe(0);
    expect(s.inserts).toBeGreaterThan(10);
    const want = [...data.map((d) => d.id), ...load.written.keys()];
    await eventually("2 copies of everything", async () => replicationProblems(await holdings(agents), want, 2).length === 0, server, 30_000).catch(async (e) => {
      throw new Error(`${replicationProblems(await holdings(agents), want, 2).join("\n")}\n${(e as Error).message}`);
    });
  });
});
