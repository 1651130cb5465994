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
  // the insert and the search crossed: at least one message each way, each holding whole frames
  const sentMessages = Number(/alvd_tunnel_messages_total\{direction="sent"\} (\d+)/.exec(text)?.[1]);
  const receivedMessages = Number(/alvd_tunnel_messages_total\{direction="received"\} (\d+)/.exec(text)?.[1]);
  expect(sentMessages).toBeGreaterThanOrEqual(2);
  expect(receivedMessages).toBeGreaterThanOrEqual(2);
  expect(sent / sentMessages).toBeGreaterThan(8);
  expect(received / receivedMessages).toBeGreaterThan(8);
  expect(text).toContain("alvd_process_resident_memory_bytes");
});

test("latency histograms are cumulative, end in +Inf at the count, and sum the time", async () => {
  const vald = valdClients(`127.0.0.1:${server.grpcPort}`);
  const data = vectors(5, 8, 12);
  try {
    for (const d of data) await search(vald, d.vector, 3);
  } finally {
    vald.close();
  }
  const text = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
  expect(text).toContain("# TYPE alvd_rpc_duration_seconds histogram");
  expect(text).toContain("# TYPE alvd_rpc_requests_total counter");
  // each sample line as its name, labels and value
  const samples = [...text.matchAll(/^(\w+)\{([^}]*)\} (\S+)$/gm)].map((m) => ({
    name: m[1],
    labels: Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]])),
    value: Number(m[3]),
  }));
  const ours = samples.filter((x) => x.labels.component === "gateway" && x.labels.method === "vald.v1.Search/Search");
  const buckets = ours.filter((x) => x.name === "alvd_rpc_duration_seconds_bucket").map((x) => [x.labels.le, x.value] as const);
  const count = ours.find((x) => x.name === "alvd_rpc_duration_seconds_count")?.value ?? NaN;
  const sum = ours.find((x) => x.name === "alvd_rpc_duration_seconds_sum")?.value ?? NaN;
  expect(count).toBeGreaterThanOrEqual(6);
  expect(buckets.length).toBe(15);
  expect(buckets.at(-1)).toEqual(["+Inf", count]);
  for (let i = 1; i < buckets.length; i++) expect(buckets[i]![1]).toBeGreaterThanOrEqual(buckets[i - 1]![1]);
  expect(sum).toBeGreaterThan(0);
  expect(sum).toBeLessThan(count * 10);
});

test("an agent that leaves is dropped from the count at once", async () => {
  await agent.stop();
  await waitForAgents(server, ["embedded"]);
  expect(await metricValue(server.metricsPort, "alvd_gateway_agents")).toBe(1);
  expect(await metricValue(server.metricsPort, "alvd_tunnel_disconnects_total")).toBe(1);
});
