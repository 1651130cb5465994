// alvd.cluster.v1.Replica on a real `alvd agent`, over gRPC on its own port: listing by
// hash range, conditional copies and drops, the lease, the draining flag.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Replica } from "../../src/gen/alvd/cluster/v1/replica_pb";
import { Index } from "../../src/gen/vald/v1/index_pb";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { Object$ } from "../../src/gen/vald/v1/object_pb";
import { idHash } from "../../src/agent/handlers/id-hash";
import { hashRange } from "../../src/server/heal/scan";
import { spawnAgent, type AgentProcess } from "./harness";

const DIM = 4;
let agent: AgentProcess;
let replica: Client<typeof Replica>;
let insert: Client<typeof Insert>;
let object: Client<typeof Object$>;

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e: unknown) => ConnectError.from(e).code,
  );

beforeAll(async () => {
  agent = await spawnAgent({ dimension: DIM });
  const t = createGrpcTransport({ baseUrl: agent.baseUrl });
  replica = createClient(Replica, t);
  insert = createClient(Insert, t);
  object = createClient(Object$, t);
  for (let i = 0; i < 500; i++) await insert.insert({ vector: { id: `id-${i}`, vector: [i, 1, 2, 3] }, config: { timestamp: BigInt(1000 + i) } });
});

afterAll(async () => {
  await agent?.stop();
});

async function listAll(from = 0, to = 0, pageSize = 0) {
  const ids: string[] = [];
  const ts: bigint[] = [];
  let pages = 0;
  for await (const p of replica.list({ hashFrom: from, hashTo: to, pageSize })) {
    pages++;
    ids.push(...p.ids);
    ts.push(...p.timestamps);
  }
  return { ids, ts, pages };
}

describe("Replica/List", () => {
  test("ids and timestamps of everything, in pages", async () => {
    const all = await listAll(0, 0, 64);
    expect(all.ids.length).toBe(500);
    expect(all.pages).toBe(8);
    const at = new Map(all.ids.map((id, i) => [id, all.ts[i]]));
    expect(at.get("id-7")).toBe(1007n);
  });

  test("hash ranges partition the ids: disjoint, complete, each id in the range its hash names", async () => {
    const seen = new Set<string>();
    for (let r = 0; r < 7; r++) {
      const { from, to } = hashRange(r, 7);
      for (const id of (await listAll(from, to)).ids) {
        expect(seen.has(id)).toBe(false);
        seen.add(id);
        const h = idHash(id);
        expect(h >= from && (to === 0 || h < to)).toBe(true);
      }
    }
    expect(seen.size).toBe(500);
  });

  test("an empty range is refused as a bad argument", async () => {
    expect(await codeOf(listAll(10, 5))).toBe(Code.InvalidArgument);
  });
});

describe("Fetch, Put, Drop", () => {
  test("Fetch returns vectors with timestamps and leaves out absent ids", async () => {
    const r = await replica.fetch({ ids: ["id-1", "nope", "id-2"] });
    expect(r.vectors.map((v) => [v.id, v.timestamp])).toEqual([
      ["id-1", 1001n],
      ["id-2", 1002n],
    ]);
    expect(r.vectors[0]!.vector).toEqual([1, 1, 2, 3]);
    // a scan's second look needs the timestamps only
    const t = await replica.fetch({ ids: ["id-2", "nope", "id-1"], timestampsOnly: true });
    expect(t.vectors.map((v) => [v.id, v.timestamp, v.vector.length])).toEqual([
      ["id-2", 1002n, 0],
      ["id-1", 1001n, 0],
    ]);
  });

  test("Put stores a copy with its own timestamp, never over a newer or equal one", async () => {
    const r = await replica.put({
      vectors: [
        { id: "id-3", vector: [9, 9, 9, 9], timestamp: 999n }, // older than 1003: kept as is
        { id: "id-4", vector: [8, 8, 8, 8], timestamp: 1004n }, // same: kept
        { id: "id-5", vector: [7, 7, 7, 7], timestamp: 5000n }, // newer: replaced
        { id: "new-1", vector: [6, 6, 6, 6], timestamp: 42n }, // absent: stored with 42
      ],
    });
    expect(r.applied).toEqual([false, false, true, true]);
    expect((await object.getObject({ id: { id: "id-3" } })).vector).toEqual([3, 1, 2, 3]);
    expect((await object.getObject({ id: { id: "id-5" } })).vector).toEqual([7, 7, 7, 7]);
    expect((await object.getTimestamp({ id: { id: "new-1" } })).timestamp).toBe(42n);
  });

  test("Put refuses a copy without a timestamp or of the wrong dimension, applying nothing", async () => {
    expect(await codeOf(replica.put({ vectors: [{ id: "x", vector: [1, 2, 3, 4], timestamp: 0n }] }))).toBe(Code.InvalidArgument);
    expect(await codeOf(replica.put({ vectors: [{ id: "y", vector: [1, 2, 3, 4], timestamp: 5n }, { id: "z", vector: [1, 2], timestamp: 5n }] }))).toBe(Code.InvalidArgument);
    expect(await codeOf(object.exists({ id: "y" }))).toBe(Code.NotFound);
  });

  test("Drop removes only copies not newer than the timestamp given", async () => {
    const r = await replica.drop({
      items: [
        { id: "id-10", timestamp: 1010n }, // same: dropped
        { id: "id-11", timestamp: 1000n }, // the agent's is newer: kept
        { id: "absent", timestamp: 1n },
      ],
    });
    expect(r.dropped).toEqual([true, false, false]);
    expect(await codeOf(object.exists({ id: "id-10" }))).toBe(Code.NotFound);
    expect(await codeOf(object.exists({ id: "id-11" }))).toBe("ok");
  });
});

describe("Lease and State", () => {
  test("one holder at a time until released or expired", async () => {
    expect((await replica.lease({ holder: "s1", ttlMs: 60_000 })).granted).toBe(true);
    const refused = await replica.lease({ holder: "s2", ttlMs: 60_000 });
    expect([refused.granted, refused.holder]).toEqual([false, "s1"]);
    expect((await replica.lease({ holder: "s1", ttlMs: 60_000 })).granted).toBe(true); // renewal
    await replica.lease({ holder: "s1", release: true });
    expect((await replica.lease({ holder: "s2", ttlMs: 50 })).granted).toBe(true);
    await Bun.sleep(80);
    expect((await replica.lease({ holder: "s1", ttlMs: 1000 })).granted).toBe(true);
    await replica.lease({ holder: "s1", release: true });
    expect(await codeOf(replica.lease({ holder: "", ttlMs: 10 }))).toBe(Code.InvalidArgument);
    expect(await codeOf(replica.lease({ holder: "s3", ttlMs: 0 }))).toBe(Code.InvalidArgument);
  });

  test("State reports every vector held and the draining flag, which SetDraining sets", async () => {
    const info = await createClient(Index, createGrpcTransport({ baseUrl: agent.baseUrl })).indexInfo({});
    const s = await replica.state({});
    expect(Number(s.stored)).toBe(info.stored + info.uncommitted);
    expect(s.draining).toBe(false);
    expect((await replica.setDraining({ draining: true })).draining).toBe(true);
    expect((await replica.state({})).draining).toBe(true);
    await replica.setDraining({ draining: false });
  });

  test("IndexInfo counts as Vald does: inserts without CreateIndex are uncommitted, not stored", async () => {
    const fresh = await spawnAgent({ dimension: DIM, args: ["--create-index-threshold", "0", "--check-index-interval", "0s"] });
    try {
      const t = createGrpcTransport({ baseUrl: fresh.baseUrl });
      for (let i = 0; i < 3; i++) await createClient(Insert, t).insert({ vector: { id: `c${i}`, vector: [i, 0, 0, 1] } });
      const before = await createClient(Index, t).indexInfo({});
      expect([before.stored, before.uncommitted]).toEqual([0, 3]);
      const { Agent } = await import("../../src/gen/core/v1/agent_pb");
      await createClient(Agent, t).createIndex({ poolSize: 0 });
      const after = await createClient(Index, t).indexInfo({});
      expect([after.stored, after.uncommitted]).toEqual([3, 0]);
    } finally {
      await fresh.stop();
    }
  });
});
