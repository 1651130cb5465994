// The server's /metrics, /healthz and /readyz as Prometheus and a kubelet see them.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { metricValue, startAgent, startServer, vectors, waitForAgents, type AgentProc, type ServerProc } from "../lib/cluster";
import { search, streamInsert, valdClients } from "../lib/vald";

let server: ServerProc;
let agent: AgentProc;

beforeAll(async () => {
  server = await startServer({ extra: ["--name=embedded", "--replicas=1"] });
  agent = await startAgent({ servers: [server.wsPort], name: "remote" });
  await waitForAgents(server, ["embedded", "remote"]);
});

afterAll(async () => {
  await agent?.stop();
  await server?.stop();
});

test("health endpoints", async () => {
  const base = `http://127.0.0.1:${server.metricsPort}`;
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
  expect((await fetch(`${base}/readyz`)).status).toBe(200);
  expect((await fetch(`${base}/nope`)).status).toBe(404);
});

test("agents, tunnel traffic, gateway and per-agent calls are counted", async () => {
  expect(await metricValue(server.metricsPort, "alvd_gateway_agents")).toBe(2);
  const vald = valdClients(`127.0.0.1:${server.grpcPort}`);
  const data = vectors(40, 8, 11);
  try {
    expect((await streamInsert(vald, data)).every((c) => c === 0)).toBe(true);
    await search(vald, data[0]!.vector, 5);
  } finally {
    vald.close();
  }
  const text = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
  expect(text).toMatch(/^alvd_rpc_requests_total\{component="gateway",method="vald\.v1\.Insert\/StreamInsert",code="ok"\} 1$/m);
  expect(text).toMatch(/^alvd_rpc_requests_total\{component="gateway",method="vald\.v1\.Search\/Search",code="ok"\} 1$/m);
  expect(text).toMatch(/^alvd_gateway_agent_calls_total\{agent="remote",[^}]*\} [1-9]\d*$/m);
  expect(text).toMatch(/^alvd_gateway_fanout_duration_seconds_count\{method="[^"]*Search[^"]*"\} [1-9]\d*$/m);
  const sent = Number(/alvd_tunnel_bytes_total\{direction="sent"\} (\d+)/.exec(text)?.[1]);
  const received = Number(/alvd_tunnel_bytes_total\{direction="received"\} (\d+)/.exec(text)?.[1]);
  expect(sent).toBeGreaterThan(0);
  expect(received).toBeGreaterThan(0);
  expect(text).toContain("alvd_process_resident_memory_bytes");
});

test("an agent that leaves is dropped from the count at once", async () => {
  await agent.stop();
  await waitForAgents(server, ["embedded"]);
  expect(await metricValue(server.metricsPort, "alvd_gateway_agents")).toBe(1);
  expect(await metricValue(server.metricsPort, "alvd_tunnel_disconnects_total")).toBe(1);
});
