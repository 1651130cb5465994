// Write requests are decoded straight into the agent's staging arena (src/agent/
// write-floats.ts): each vector gets its room while the message is decoded, and the
// write stages that room without a copy. Every road must keep every vector exact: unary
// and Multi, StreamInsert, Update and Upsert, with refused writes (duplicate ids, wrong
// dimensions) taking rooms in between, arena chunks growing mid-request, through
// CreateIndex and through a kill -9 and the log replay after it.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { Agent } from "../../src/gen/core/v1/agent_pb";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { Object$ } from "../../src/gen/vald/v1/object_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { Update } from "../../src/gen/vald/v1/update_pb";
import { Upsert } from "../../src/gen/vald/v1/upsert_pb";
import { GrpcJs, grpcError, spawnAgent, tempDir, vectors, type AgentProcess } from "./harness";

setDefaultTimeout(60_000);

const DIM = 96;
const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function started(dir: string): Promise<{ agent: AgentProcess; rpc: GrpcJs }> {
  const agent = await spawnAgent({ dimension: DIM, args: ["--index-path", dir, "--create-index-threshold", "0", "--save-interval", "0s"] });
  const rpc = new GrpcJs(agent.address);
  cleanup.push(async () => {
    rpc.close();
    if (agent.proc.exitCode === null) await agent.kill();
  });
  return { agent, rpc };
}

test("every write road keeps each vector exact, with refused writes in between, through CreateIndex and a kill -9", async () => {
  const dir = await tempDir();
  cleanup.push(dir.remove);
  const vec = vectors(2_600, DIM, 9);
  const expected = new Map<string, number[]>();
  const first = await started(dir.path);
  const { rpc } = first;

  // 1,500 in one MultiInsert: the arena's chunks start at 256 vectors and double, so
  // this request's vectors are decoded across several chunks
  await rpc.unary(Insert.method.multiInsert, { requests: vec.slice(0, 1_500).map((vector, i) => ({ vector: { id: `m${i}`, vector } })) });
  vec.slice(0, 1_500).forEach((v, i) => expected.set(`m${i}`, v));

  // refused writes take rooms too; they must not shift or overwrite anyone's vector
  expect((await grpcError(rpc.unary(Insert.method.insert, { vector: { id: "m3", vector: vec[2_000]! } }))).code).toBe(grpc.status.ALREADY_EXISTS);
  expect((await grpcError(rpc.unary(Insert.method.insert, { vector: { id: "short", vector: vec[2_001]!.slice(0, 40) } }))).code).toBe(grpc.status.INVALID_ARGUMENT);
  expect((await grpcError(rpc.unary(Update.method.update, { vector: { id: "absent", vector: vec[2_002]! } }))).code).toBe(grpc.status.NOT_FOUND);

  // a stream, with a duplicate and a wrong dimension among its items
  const streamed = vec.slice(1_500, 2_000).map((vector, i) => ({ vector: { id: `s${i}`, vector } }));
  streamed.splice(100, 0, { vector: { id: "m10", vector: vec[2_003]! } }, { vector: { id: "bad", vector: [1, 2, 3] } });
  const answers = await rpc.bidi(Insert.method.streamInsert, streamed);
  expect(answers.filter((a) => a.payload.case === "location").length).toBe(500);
  expect(answers.filter((a) => a.payload.case === "status").map((a) => (a.payload.value as { code: number }).code)).toEqual([grpc.status.ALREADY_EXISTS, grpc.status.INVALID_ARGUMENT]);
  vec.slice(1_500, 2_000).forEach((v, i) => expected.set(`s${i}`, v));

  // updates and upserts replace staged vectors with new rooms
  await rpc.unary(Update.method.multiUpdate, { requests: [0, 1, 2].map((i) => ({ vector: { id: `m${i}`, vector: vec[2_100 + i]! } })) });
  [0, 1, 2].forEach((i) => expected.set(`m${i}`, vec[2_100 + i]!));
  await rpc.unary(Upsert.method.multiUpsert, {
    requests: [
      { vector: { id: "s7", vector: vec[2_200]! } },
      { vector: { id: "u-new", vector: vec[2_201]! } },
    ],
  });
  expected.set("s7", vec[2_200]!);
  expected.set("u-new", vec[2_201]!);

  const check = async (client: GrpcJs, when: string) => {
    for (const [id, v] of expected) {
      const got = (await client.unary(Object$.method.getObject, { id: { id } })).vector;
      if (got.length !== v.length || got.some((x, i) => x !== v[i])) throw new Error(`${when}: ${id} does not hold the vector written for it`);
    }
  };
  await check(rpc, "staged");
  expect((await rpc.unary(Agent.method.indexInfo, {})).uncommitted).toBe(expected.size);

  await rpc.unary(Agent.method.createIndex, { poolSize: 0 });
  await check(rpc, "after CreateIndex");
  const self = await rpc.unary(Search.method.search, { vector: expected.get("s123")!, config: { num: 1, radius: -1, epsilon: 0.1 } });
  expect(self.results[0]?.id).toBe("s123");
  expect(self.results[0]?.distance).toBe(0);

  // written after the build, then the process is killed: only the log has these
  await rpc.unary(Insert.method.multiInsert, { requests: vec.slice(2_300, 2_600).map((vector, i) => ({ vector: { id: `k${i}`, vector } })) });
  vec.slice(2_300, 2_600).forEach((v, i) => expected.set(`k${i}`, v));
  rpc.close();
  await first.agent.kill();

  const second = await started(dir.path);
  await check(second.rpc, "after kill -9 and replay");
  const info = await second.rpc.unary(Agent.method.indexInfo, {});
  expect(info.stored + info.uncommitted).toBe(expected.size);
});
