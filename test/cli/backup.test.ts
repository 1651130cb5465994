// alvd backup / restore on real processes: a server with a persistent embedded agent
// and a remote agent (replicas 1, so each holds its own part), a full backup, more
// writes, an incremental one (--since); then kill -9 of the whole cluster, its
// directories wiped, a fresh cluster, and restore of the chain: every id, vector and
// timestamp bit for bit (StreamListObject and GetObject) and searchable. Also restore by
// import into a cluster of another shape, damaged or misordered chains refused before
// the cluster is touched, a non-empty cluster refused without --force, and progress
// on a terminal (`script`) and without one.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@connectrpc/connect";
import { Index } from "../../src/gen/vald/v1/index_pb";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { Object$ } from "../../src/gen/vald/v1/object_pb";
import { Remove } from "../../src/gen/vald/v1/remove_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { Agent } from "../../src/gen/core/v1/agent_pb";
import { startAgent, startServer, waitForAgents, type AgentProc, type ServerProc } from "../lib/cluster";
import { BUN, MAIN } from "../lib/process";
import { cli, f32Vectors, held, sameBits, shell } from "./lib";

setDefaultTimeout(90_000);

const D = 64;
let dir: string;
let server: ServerProc | undefined;
let agent: AgentProc | undefined;
let full: string;
let incr: string;
let want: Map<string, { vector: Float32Array; timestamp: bigint }>;

const at = (s: ServerProc) => ["-h", "127.0.0.1", "-p", String(s.grpcPort)];

async function startCluster(): Promise<{ server: ServerProc; agent: AgentProc }> {
  const server = await startServer({ dimension: D, token: "bk", extra: ["--replicas=1", "--name=bk-server", `--index-path=${join(dir, "server")}`] });
  const agent = await startAgent({ servers: [server.wsPort], name: "bk-agent", dimension: D, token: "bk", indexPath: join(dir, "agent") });
  await waitForAgents(server, ["bk-server", "bk-agent"]);
  return { server, agent };
}

/** every stored vector, by id (StreamListObject through the gateway) */
async function contents(object: Client<typeof Object$>): Promise<Map<string, { vector: Float32Array; timestamp: bigint }>> {
  const out = new Map<string, { vector: Float32Array; timestamp: bigint }>();
  for await (const r of object.streamListObject({})) {
    if (r.payload.case !== "vector") throw new Error(`listing failed: ${JSON.stringify(r.payload.value)}`);
    const v = r.payload.value;
    out.set(v.id, { vector: Float32Array.from(v.vector), timestamp: v.timestamp });
  }
  return out;
}

function expectSame(got: Map<string, { vector: Float32Array; timestamp: bigint }>, expected: Map<string, { vector: Float32Array; timestamp: bigint }>) {
  expect(got.size).toBe(expected.size);
  for (const [id, w] of expected) {
    const g = got.get(id);
    expect({ id, present: g !== undefined }).toEqual({ id, present: true });
    expect({ id, ts: g!.timestamp }).toEqual({ id, ts: w.timestamp });
    expect({ id, bits: sameBits(g!.vector, w.vector) }).toEqual({ id, bits: true });
  }
}

const F32_MAX = 3.4028234663852886e38;

/** the L2 distance an agent reports: summed in float32, so beyond its range it is Infinity (v-0) */
function l2(a: Float32Array, b: Float32Array): number {
  const sq = a.reduce((sum, x, i) => sum + (x - b[i]!) ** 2, 0);
  return sq > F32_MAX ? Infinity : Math.sqrt(sq);
}

/**
 * Search (HNSW) with each vector's own value: every hit must carry the distance of the
 * vector its id holds, and every query must find itself. A restore that left vectors
 * unindexed or labelled them wrongly fails here; so did, before the index repaired
 * its graph after each build and load (native/reachability.hpp), a restored cluster
 * whose builds had left a few vectors no search reaches.
 */
async function expectSearchable(search: Client<typeof Search>, stored: Map<string, { vector: Float32Array }>) {
  const ids = [...stored.keys()];
  const missed: string[] = [];
  for (let i = 0; i < ids.length; i += 100) {
    const batch = ids.slice(i, i + 100);
    const r = await search.multiSearch({ requests: batch.map((id) => ({ vector: Array.from(stored.get(id)!.vector), config: { num: 1 } })) });
    expect(r.responses).toHaveLength(batch.length);
    r.responses.forEach((res, j) => {
      const q = stored.get(batch[j]!)!.vector;
      const hit = res.results[0]!;
      const d = l2(q, stored.get(hit.id)!.vector);
      expect({ query: batch[j], hit: hit.id, labelled: d === hit.distance || Math.abs(d - hit.distance) <= 1e-4 * Math.max(1, d) }).toEqual({ query: batch[j], hit: hit.id, labelled: true });
      if (hit.id !== batch[j]) missed.push(`${batch[j]} (got ${hit.id} at ${hit.distance})`);
    });
  }
  expect({ missed }).toEqual({ missed: [] });
}

async function insertAll(s: ServerProc, items: { id: string; vector: Float32Array; timestamp: bigint }[]) {
  const insert = s.client(Insert);
  for (let i = 0; i < items.length; i += 100) {
    const requests = items.slice(i, i + 100).map((it) => ({ vector: { id: it.id, vector: Array.from(it.vector) }, config: { timestamp: it.timestamp } }));
    await insert.multiInsert({ requests });
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "alvd-backup-"));
  ({ server, agent } = await startCluster());
  const vectors = f32Vectors(700, D, 3);
  vectors[0]!.set([-0, 1e-45, 3.4028234663852886e38]);
  const items = vectors.map((vector, i) => ({ id: `v-${i}`, vector, timestamp: BigInt(i + 1) * 1_000_000_007n }));
  // a graph part (CreateIndex) and an uncommitted part, then removals
  await insertAll(server, items.slice(0, 400));
  await server.client(Agent).createIndex({ poolSize: 0 });
  await insertAll(server, items.slice(400, 500));
  const remove = server.client(Remove);
  for (const i of [3, 450]) await remove.remove({ id: { id: `v-${i}` } });
  const r = await cli(["backup", ...at(server), "--out", `${dir}/`, "--progress", "none"]);
  expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
  expect(r.stdout).toMatch(/^backed up 2 agents \(498 vectors\) to .*alvd-\d{8}T\d{6}Z-full\.alvdbak \([\d.]+ MB\) in [\d.]+ s\n$/);
  full = join(dir, readdirSync(dir).find((n) => n.endsWith("-full.alvdbak"))!);
  // changes after it: new vectors, a removal of a committed one, a replaced vector, with
  // saves in between: with --keep-generations 2 they would delete the log the next
  // incremental backup needs, but the agents keep it from the last backup on
  await insertAll(server, items.slice(500, 600));
  await server.client(Agent).saveIndex({});
  await insertAll(server, items.slice(600, 700));
  await server.client(Agent).saveIndex({});
  await remove.remove({ id: { id: "v-10" } });
  await server.client(Agent).saveIndex({});
  await server.client(Insert).insert({ vector: { id: "v-3", vector: Array.from(vectors[3]!.map((x) => -x)) }, config: { timestamp: 42n } });
  const r2 = await cli(["backup", ...at(server), "--out", `${dir}/`, "--since", dir, "--progress", "none"]);
  expect({ code: r2.code, err: r2.stderr }).toEqual({ code: 0, err: `alvd backup: incremental since ${full} (full, ${JSON.parse(Buffer.from(readFileSync(full).subarray(16, 16 + readFileSync(full).readUInt32LE(12))).toString()).created})\n` });
  expect(r2.stdout).toMatch(/^backed up 2 agents \(202 log records since the previous backup\) to .*-incr\.alvdbak/);
  incr = join(dir, readdirSync(dir).find((n) => n.endsWith("-incr.alvdbak"))!);
  want = await contents(server.client(Object$));
  expect(want.size).toBe(698);
}, 120_000);

afterAll(async () => {
  for (const p of [server, agent]) p?.proc.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

describe("alvd backup and restore", () => {
  test("kill -9 the cluster, wipe its directories, start fresh: restore of full + incremental is bit for bit and searchable", async () => {
    server!.proc.kill("SIGKILL");
    agent!.proc.kill("SIGKILL");
    await Promise.all([server!.proc.exited, agent!.proc.exited]);
    rmSync(join(dir, "server"), { recursive: true });
    rmSync(join(dir, "agent"), { recursive: true });
    ({ server, agent } = await startCluster());
    expect(await held(server.client(Index))).toBe(0);
    const r = await cli(["restore", full, incr, ...at(server), "--progress", "none"]);
    expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
    expect(r.stdout).toMatch(/^restored 698 vectors on 2 agents from 2 backup files in [\d.]+ s: installed the snapshot files into empty agents\n$/);
    const object = server.client(Object$);
    expectSame(await contents(object), want);
    const search = server.client(Search);
    for (const id of ["v-0", "v-3", "v-650"]) {
      const g = await object.getObject({ id: { id } });
      expect(sameBits(g.vector, want.get(id)!.vector)).toBe(true);
      expect(g.timestamp).toBe(want.get(id)!.timestamp);
      const exact = await search.linearSearch({ vector: Array.from(want.get(id)!.vector), config: { num: 1 } });
      expect(exact.results.map((h) => ({ id: h.id, distance: h.distance }))).toEqual([{ id, distance: 0 }]);
    }
    await expectSearchable(search, want);
    // and it survives a restart of the agents: the installed snapshot is their newest generation
    server.proc.kill("SIGKILL");
    agent.proc.kill("SIGKILL");
    await Promise.all([server.proc.exited, agent.proc.exited]);
    ({ server, agent } = await startCluster());
    expectSame(await contents(server.client(Object$)), want);
  });

  test("into a cluster of another shape (one in-memory agent): by import, bit for bit; then a non-empty cluster is refused", async () => {
    const other = await startServer({ dimension: D });
    try {
      const r = await cli(["restore", full, incr, ...at(other), "--progress", "none"]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("alvd restore: by import, not by files: the backup has 2 agents, the cluster 1\n");
      expect(r.stdout).toMatch(/^restored 698 vectors on 1 agent from 2 backup files in [\d.]+ s: by import \(Vald API inserts\)\n$/);
      expectSame(await contents(other.client(Object$)), want);
      const again = await cli(["restore", full, ...at(other), "--progress", "none"]);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/^alvd restore: the cluster at 127\.0\.0\.1:\d+ holds 698 vectors: restore into an empty cluster, or add --force to upsert the backup's vectors over those with the same ids\n$/);
      // --force: the backup's vectors upserted over those of the same ids, the others left alone
      await other.client(Insert).insert({ vector: { id: "extra", vector: Array.from(f32Vectors(1, D, 9)[0]!) }, config: {} });
      await other.client(Remove).remove({ id: { id: "v-0" } });
      const forced = await cli(["restore", full, incr, ...at(other), "--force", "--progress", "none"]);
      expect({ code: forced.code, err: forced.stderr }).toEqual({ code: 0, err: "alvd restore: by import, not by files: the backup has 2 agents, the cluster 1\n" });
      const after = await contents(other.client(Object$));
      expect(after.has("extra")).toBe(true);
      after.delete("extra");
      expectSame(after, want);
      const files = await cli(["restore", full, ...at(other), "--mode", "files", "--force", "--progress", "none"]);
      expect(files.code).toBe(2);
      expect(files.stderr).toContain("--mode files needs empty agents that match the backup's: the backup has 2 agents, the cluster 1");
    } finally {
      await other.stop();
    }
  });

  test("damaged, misordered or wrong files are refused with one line before the cluster is touched", async () => {
    const bytes = readFileSync(full);
    const flipped = join(dir, "flipped.alvdbak");
    const b = Buffer.from(bytes);
    b[Math.floor(b.length / 2)]! ^= 0x10;
    writeFileSync(flipped, b);
    const cut = join(dir, "cut.alvdbak");
    writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
    const other = await startServer({ dimension: D });
    try {
      const cases: [string[], RegExp][] = [
        [[flipped], /^alvd restore: .*flipped\.alvdbak: block \d+ checksum mismatch/],
        [[cut], /^alvd restore: .*cut\.alvdbak: truncated/],
        [[incr], /is an incremental backup: a restore starts with a full one/],
        [[full, full], /is a full backup: give one full backup first, then only its incrementals/],
      ];
      for (const [files, re] of cases) {
        const r = await cli(["restore", ...files, ...at(other), "--progress", "none"]);
        expect({ files, code: r.code }).toEqual({ files, code: r.code === 2 ? 2 : 1 });
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(re);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
      }
      expect(await held(other.client(Index))).toBe(0);
      const imp = await cli(["import", full, ...at(other), "--dry-run"]);
      expect(imp.stderr).toContain("this is an alvd backup, not an export: bring it back with alvd restore");
      const dry = await cli(["restore", full, incr, "--dry-run"]);
      expect(dry.code).toBe(0);
      expect(dry.stdout).toMatch(/: 2 agents, 698 vectors, 202 log records after the full backup; checksums verified/);
    } finally {
      await other.stop();
    }
  });

  test("an incremental backup needs the log since the previous one: a restored cluster asks for a full backup", async () => {
    const r = await cli(["backup", ...at(server!), "--out", join(dir, "x.alvdbak"), "--since", incr, "--progress", "none"]);
    expect(r.code).toBe(1);
    expect(r.stderr.split("\n")[0]).toStartWith(`alvd backup: incremental since ${incr} (incremental,`);
    expect(r.stderr.split("\n").slice(1).join("\n")).toMatch(/^alvd backup: FAILED_PRECONDITION: agent bk-\w+ does not hold the data the previous backup was taken from \(a restore or a new --index-path replaced it since\): take a full backup\n$/);
  });

  test("progress: a bar redrawn in place on a terminal, log lines elsewhere", async () => {
    const command = [BUN, MAIN, "backup", ...at(server!), "--out", join(dir, "tty.alvdbak")].map((a) => `'${a}'`).join(" ");
    const tty = await shell(`script -qec "${command}" /dev/null`);
    expect(tty.code).toBe(0);
    const frames = tty.stdout.split("\r\x1b[K").slice(1);
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.at(-1)!).toMatch(/^backup \[#+\] 100% [\d.]+ [kMG]?B\/[\d.]+ [kMG]?B [\d.]+ [kMG]?B\/s /);
    const plain = await cli(["backup", ...at(server!), "--out", join(dir, "plain.alvdbak"), "--progress-interval", "1ms"]);
    expect(plain.code).toBe(0);
    const lines = plain.stderr.trim().split("\n");
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).toMatch(/^backup: [\d.]+ [kMG]?B\/[\d.]+ [kMG]?B \(\d+\.\d%\), [\d.]+ [kMG]?B\/s, (ETA \d+:\d\d|\d+:\d\d elapsed)$/);
  });
});
