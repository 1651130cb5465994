// A server whose only agent is its embedded one decodes write requests straight into
// that agent's staging arena (src/agent/write-floats.ts, src/server/run.ts); once
// another agent has joined, writes are decoded into plain arrays again. Either way
// every vector must arrive exact on every replica, read back from each agent's own port.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { Object$ } from "../../src/gen/vald/v1/object_pb";
import { Update } from "../../src/gen/vald/v1/update_pb";
import { Upsert } from "../../src/gen/vald/v1/upsert_pb";
import { GrpcJs, grpcError, vectors } from "../agent/harness";
import { startAgent, startServer, waitForAgents, type AgentProc, type ServerProc } from "../lib/cluster";

setDefaultTimeout(60_000);

const DIM = 32;
const procs: (ServerProc | AgentProc)[] = [];
const clients: GrpcJs[] = [];
afterAll(async () => {
  for (const c of clients) c.close();
  for (const p of procs.reverse()) await p.stop();
});

function client(port: number): GrpcJs {
  const c = new GrpcJs(`127.0.0.1:${port}`);
  clients.push(c);
  return c;
}

async function holds(c: GrpcJs, expected: Map<string, number[]>, where: string): Promise<void> {
  for (const [id, v] of expected) {
    const got = (await c.unary(Object$.method.getObject, { id: { id } })).vector;
    if (got.length !== v.length || got.some((x, i) => x !== v[i])) throw new Error(`${where}: ${id} does not hold the vector written for it`);
  }
}

test("writes through the gateway keep every vector exact, alone with the embedded agent and with a second agent", async () => {
  const server = await startServer({ dimension: DIM, extra: ["--replicas=2", "--create-index-threshold=0"] });
  procs.push(server);
  const gw = client(server.grpcPort);
  const vec = vectors(2_000, DIM, 17);
  const alone = new Map<string, number[]>();

  await gw.unary(Insert.method.multiInsert, { requests: vec.slice(0, 1_000).map((vector, i) => ({ vector: { id: `a${i}`, vector } })) });
  vec.slice(0, 1_000).forEach((v, i) => alone.set(`a${i}`, v));
  expect((await grpcError(gw.unary(Insert.method.insert, { vector: { id: "a5", vector: vec[1_900]! } }))).code).toBe(grpc.status.ALREADY_EXISTS);
  const answers = await gw.bidi(
    Insert.method.streamInsert,
    vec.slice(1_000, 1_300).map((vector, i) => ({ vector: { id: `s${i}`, vector } })),
  );
  expect(answers.filter((a) => a.payload.case === "location").length).toBe(300);
  vec.slice(1_000, 1_300).forEach((v, i) => alone.set(`s${i}`, v));
  await gw.unary(Update.method.update, { vector: { id: "a1", vector: vec[1_901]! } });
  alone.set("a1", vec[1_901]!);
  await gw.unary(Upsert.method.upsert, { vector: { id: "s2", vector: vec[1_902]! } });
  alone.set("s2", vec[1_902]!);
  await holds(gw, alone, "through the gateway");
  await holds(client(server.agentPort), alone, "on the embedded agent's port");

  // a second agent: each write now goes to both, decoded into plain arrays
  const second = await startAgent({ servers: [server.wsPort], name: "second", dimension: DIM });
  procs.push(second);
  await waitForAgents(server, [(await embeddedName(server)), "second"]);
  const both = new Map<string, number[]>();
  await gw.unary(Insert.method.multiInsert, { requests: vec.slice(1_300, 1_800).map((vector, i) => ({ vector: { id: `b${i}`, vector } })) });
  vec.slice(1_300, 1_800).forEach((v, i) => both.set(`b${i}`, v));
  await holds(client(server.agentPort), both, "embedded replica");
  await holds(client(second.grpcPort), both, "second replica");
  await holds(client(server.agentPort), alone, "embedded agent, earlier writes");
});

async function embeddedName(server: ServerProc): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`);
  const line = (await res.text()).split("\n").find((l) => l.startsWith("alvd_agent_index_stored{"));
  const name = line?.match(/agent="([^"]+)"/)?.[1];
  if (name === undefined) throw new Error("no embedded agent in the server's metrics");
  return name;
}
