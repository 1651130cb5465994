// The agent as a process: persistence across a graceful restart, crash recovery of
// every write acknowledged on a stream (SIGKILL mid-stream), the agent name kept in
// --index-path, metrics and /readyz.
import { afterAll, expect, test, setDefaultTimeout } from "bun:test";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { Agent } from "../../src/gen/core/v1/agent_pb";
import { Insert_RequestSchema, Object_StreamLocationSchema } from "../../src/gen/payload/v1/payload_pb";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { Object$ } from "../../src/gen/vald/v1/object_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { GrpcJs, grpcError, spawnAgent, tempDir, vectors, type AgentProcess } from "./harness";

// Real processes on a shared 2-core box: start-up alone can take seconds under load.
setDefaultTimeout(30_000);

const DIM = 16;
const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function started(args: string[]): Promise<{ agent: AgentProcess; rpc: GrpcJs }> {
  const agent = await spawnAgent({ dimension: DIM, args });
  const rpc = new GrpcJs(agent.address);
  cleanup.push(async () => {
    rpc.close();
    if (agent.proc.exitCode === null) await agent.kill();
  });
  return { agent, rpc };
}

test("graceful restart keeps every vector, its timestamp and the agent name", async () => {
  const dir = await tempDir();
  cleanup.push(dir.remove);
  const vec = vectors(300, DIM, 3);
  const first = await started(["--index-path", dir.path]);
  const name = (await readFile(join(dir.path, "agent-name"), "utf8")).trim();
  expect(name).toMatch(/^agent-[0-9a-f]+$/);
  await first.rpc.unary(Insert.method.multiInsert, {
    requests: vec.slice(0, 200).map((vector, i) => ({ vector: { id: `p-${i}`, vector }, config: { timestamp: BigInt(1000 + i) } })),
  });
  await first.rpc.unary(Agent.method.createIndex, { poolSize: 0 });
  await first.rpc.unary(Agent.method.saveIndex, {});
  // written after the save: only the WAL (or the save at shutdown) keeps these
  await first.rpc.unary(Insert.method.multiInsert, {
    requests: vec.slice(200).map((vector, i) => ({ vector: { id: `p-${200 + i}`, vector } })),
  });
  first.rpc.close();
  expect(await first.agent.stop()).toBe(0);

  const second = await started(["--index-path", dir.path]);
  const info = await second.rpc.unary(Agent.method.indexInfo, {});
  expect(info.stored).toBe(300);
  const loc = await second.rpc.unary(Insert.method.insert, { vector: { id: "after-restart", vector: vec[0]! } });
  expect(loc.name).toBe(name);
  expect((await second.rpc.unary(Object$.method.getTimestamp, { id: { id: "p-7" } })).timestamp).toBe(1007n);
  expect((await second.rpc.unary(Object$.method.getObject, { id: { id: "p-250" } })).vector).toEqual(vec[250]!);
  const hit = await second.rpc.unary(Search.method.search, { vector: vec[123]!, config: { num: 1 } });
  expect(hit.results[0]?.id).toBe("p-123");
  second.rpc.close();
  expect(await second.agent.stop()).toBe(0);
}, 30_000);

test("the SaveIndex RPC saves: with the log dropped by it, a SIGKILLed agent restarts from the snapshot alone", async () => {
  const dir = await tempDir();
  cleanup.push(dir.remove);
  const vec = vectors(120, DIM, 7);
  const first = await started(["--index-path", dir.path, "--keep-generations", "1"]);
  await first.rpc.unary(Insert.method.multiInsert, {
    requests: vec.map((vector, i) => ({ vector: { id: `s-${i}`, vector }, config: { timestamp: BigInt(500 + i) } })),
  });
  await first.rpc.unary(Agent.method.createIndex, { poolSize: 0 });
  await first.rpc.unary(Agent.method.saveIndex, {});
  // what is left of the log is one empty segment: the vectors can only come from the snapshot
  const logs = (await readdir(dir.path)).filter((n) => n.startsWith("wal-"));
  expect(logs).toHaveLength(1);
  expect((await stat(join(dir.path, logs[0]!))).size).toBe(16);
  expect(await readdir(dir.path)).toContain("index-1.usearch");
  first.rpc.close();
  await first.agent.kill();

  const second = await started(["--index-path", dir.path]);
  const info = await second.rpc.unary(Agent.method.indexInfo, {});
  expect([info.stored, info.uncommitted]).toEqual([120, 0]);
  for (const i of [0, 59, 119]) {
    expect((await second.rpc.unary(Object$.method.getObject, { id: { id: `s-${i}` } })).vector).toEqual(vec[i]!);
    expect((await second.rpc.unary(Object$.method.getTimestamp, { id: { id: `s-${i}` } })).timestamp).toBe(BigInt(500 + i));
  }
  second.rpc.close();
  await second.agent.kill();
}, 30_000);

test("SIGKILL in the middle of a StreamInsert: after a restart every acknowledged id is there", async () => {
  const dir = await tempDir();
  cleanup.push(dir.remove);
  const { agent, rpc } = await started(["--index-path", dir.path, "--name", "crashy"]);
  const vec = vectors(4000, DIM, 11);
  const acked: string[] = [];
  const KILL_AFTER = 500;

  // Raw grpc-js bidi call: we keep writing while the agent dies under us.
  const call = rpc.client.makeBidiStreamRequest(
    "/vald.v1.Insert/StreamInsert",
    (r: ReturnType<typeof create<typeof Insert_RequestSchema>>) => Buffer.from(toBinary(Insert_RequestSchema, r)),
    (b: Buffer) => fromBinary(Object_StreamLocationSchema, b),
    new grpc.Metadata(),
    {},
  );
  const ended = new Promise<void>((done) => {
    call.on("error", () => done());
    call.on("end", () => done());
  });
  let killing: Promise<void> | undefined;
  call.on("data", (r: ReturnType<typeof fromBinary<typeof Object_StreamLocationSchema>>) => {
    if (r.payload.case === "location") acked.push(r.payload.value.uuid);
    if (acked.length === KILL_AFTER && !killing) killing = agent.kill();
  });
  for (let i = 0; i < vec.length && !killing; i++) {
    const ok = call.write(create(Insert_RequestSchema, { vector: { id: `c-${i}`, vector: vec[i]! } }));
    if (!ok) await Promise.race([new Promise((r) => call.once("drain", r)), ended]);
  }
  await killing;
  await ended;
  expect(acked.length).toBeGreaterThanOrEqual(KILL_AFTER);
  expect(agent.proc.exitCode === 0).toBe(false);
  rpc.close();

  const again = await started(["--index-path", dir.path, "--name", "crashy"]);
  const info = await again.rpc.unary(Agent.method.indexInfo, {});
  expect(info.stored + info.uncommitted).toBeGreaterThanOrEqual(acked.length);
  const listed = await again.rpc.serverStream(Object$.method.streamListObject, {});
  const present = new Set(listed.map((r) => (r.payload.case === "vector" ? r.payload.value.id : "")));
  const missing = acked.filter((id) => !present.has(id));
  expect(missing).toEqual([]);
  // the recovered vectors are the ones that were sent
  const got = await again.rpc.unary(Object$.method.getObject, { id: { id: acked[KILL_AFTER - 1]! } });
  expect(got.vector).toEqual(vec[Number(acked[KILL_AFTER - 1]!.slice(2))]!);
  again.rpc.close();
  expect(await again.agent.stop()).toBe(0);
}, 60_000);

test("metrics count RPCs by method and code and export index gauges; /readyz and /healthz answer", async () => {
  const { agent, rpc } = await started(["--name", "metered"]);
  const vec = vectors(3, DIM, 5);
  await rpc.unary(Insert.method.insert, { vector: { id: "m-1", vector: vec[0]! } });
  await rpc.unary(Insert.method.insert, { vector: { id: "m-2", vector: vec[1]! } });
  await grpcError(rpc.unary(Insert.method.insert, { vector: { id: "m-1", vector: vec[0]! } }));
  const base = `http://127.0.0.1:${agent.metricsPort}`;
  expect((await fetch(`${base}/readyz`)).status).toBe(200);
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
  const text = await (await fetch(`${base}/metrics`)).text();
  const value = (re: RegExp) => Number(text.match(re)?.[1] ?? Number.NaN);
  expect(value(/alvd_rpc_requests_total\{[^}]*method="vald\.v1\.Insert\/Insert"[^}]*code="ok"[^}]*\} (\d+)/)).toBe(2);
  expect(value(/alvd_rpc_requests_total\{[^}]*method="vald\.v1\.Insert\/Insert"[^}]*code="already_exists"[^}]*\} (\d+)/)).toBe(1);
  expect(value(/alvd_agent_index_stored\{agent="metered"\} (\d+)/)).toBe(2);
  expect(value(/alvd_agent_index_uncommitted\{agent="metered"\} (\d+)/)).toBeGreaterThanOrEqual(0);
  expect(value(/alvd_agent_index_indexing\{agent="metered"\} (\d+)/)).toBe(0);
  expect(value(/alvd_agent_index_saving\{agent="metered"\} (\d+)/)).toBe(0);
  expect(value(/alvd_agent_index_memory_bytes\{agent="metered"\} (\d+)/)).toBeGreaterThan(0);
  expect(text).toContain("alvd_process_resident_memory_bytes");
  rpc.close();
  expect(await agent.stop()).toBe(0);
}, 20_000);

test("a second agent on a busy port fails to start with a clear message", async () => {
  const { agent } = await started(["--name", "first"]);
  const err = await spawnAgent({ dimension: DIM, grpcPort: agent.grpcPort, readyTimeoutMs: 10_000 }).then(
    (a) => a.kill().then(() => undefined),
    (e: Error) => e,
  );
  expect(err?.message).toContain(`${agent.grpcPort}`);
  expect(await agent.stop()).toBe(0);
}, 30_000);
