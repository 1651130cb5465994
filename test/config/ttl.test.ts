// --ttl on real processes: the server removes expired vectors from every agent (its
// embedded one and one over the tunnel), the removal is in the agents' write-ahead logs
// (a restarted agent does not bring them back), and the sweep is counted in metrics.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Index } from "../../src/gen/vald/v1/index_pb";
import { metricValue, startAgent, startServer, type AgentProc, type ServerProc } from "../lib/cluster";
import { client, eventually } from "../examples/harness";

const dir = mkdtempSync(join(tmpdir(), "alvd-ttl-"));
const procs: { stop(): Promise<unknown> }[] = [];
afterAll(async () => {
  for (const p of procs.reverse()) await p.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("expired vectors leave every replica, durably", async () => {
  const server: ServerProc = await startServer({
    dimension: 4,
    extra: ["--ttl=1s", "--check-index-interval=100ms", "--replicas=2", `--index-path=${join(dir, "server")}`],
  });
  procs.push(server);
  let agent: AgentProc = await startAgent({ servers: [server.wsPort], name: "ttl-agent", dimension: 4, indexPath: join(dir, "agent") });
  procs.push(agent);
  await eventually("two agents", async () => Object.keys((await server.client(Index).indexDetail({}).catch(() => ({ counts: {} }))).counts).length === 2);

  const viaServer = client(server.grpcPort);
  let onAgent = client(agent.grpcPort);
  try {
    await viaServer.insert("a", [1, 0, 0, 0]);
    await viaServer.insert("b", [0, 1, 0, 0]);
    expect(await onAgent.exists("a")).toBe(true); // replicas=2: a copy on the remote agent too
    await eventually("a and b expired on both agents", async () => !(await viaServer.exists("a")) && !(await viaServer.exists("b")) && !(await onAgent.exists("a")));
    expect(await metricValue(server.metricsPort, "alvd_gateway_expired_vectors_total")).toBeGreaterThanOrEqual(2);
    expect(server.logs()).toContain("expired vectors removed");

    // the agent logged the removal: restarted on its own, it still lacks them
    onAgent.close();
    await agent.stop();
    agent = await startAgent({ servers: [], name: "ttl-agent", dimension: 4, indexPath: join(dir, "agent") });
    procs.push(agent);
    onAgent = client(agent.grpcPort);
    expect(await onAgent.exists("a")).toBe(false);
    expect(await onAgent.exists("b")).toBe(false);
  } finally {
    viaServer.close();
    onAgent.close();
  }
});

test("--ttl needs a check interval", async () => {
  const { runAlvd } = await import("../lib/process");
  const r = await runAlvd(["server", "--ttl=1h", "--check-index-interval=0"]);
  expect(r.code).toBe(2);
  expect(r.stderr.trim()).toBe("alvd: --ttl needs --check-index-interval above 0: that is how often expired vectors are looked for");
});
