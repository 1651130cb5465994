// Real disk faults under a real agent: a full file system (a small tmpfs mounted for
// the test) and a read-only directory (root's permission override dropped with
// setpriv, so the kernel refuses the write). Each ends the documented way: the failing
// write or save is not applied and answers UNAVAILABLE with the reason, later writes
// are refused, reads keep working, a log line and a metric say so, and after the
// operator fixes the disk and restarts the agent every acknowledged write is there.
import { afterAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { Agent } from "../../src/gen/core/v1/agent_pb";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { Object$ } from "../../src/gen/vald/v1/object_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { createAndSave, DIM, expectHoldsExactly, insertAll, items, refusalLine, type Item } from "./durability";
import { GrpcJs, grpcError, spawnAgent, startAgent, type AgentProcess } from "./harness";

setDefaultTimeout(60_000);

const root = mkdtempSync(join(tmpdir(), "alvd-disk-faults-"));
const mounts: string[] = [];
const running: AgentProcess[] = [];

afterAll(async () => {
  for (const p of running) if (p.proc.exitCode === null) await p.kill();
  for (const m of mounts) spawnSync("umount", ["-l", m]);
  rmSync(root, { recursive: true, force: true });
});

/** A small tmpfs of our own, or null where the sandbox does not let us mount one. */
function smallDisk(name: string, bytes: number): string | null {
  const dir = join(root, name);
  mkdirSync(dir);
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", dir]);
  if (r.status !== 0) return null;
  mounts.push(dir);
  return dir;
}

const canMount = (() => {
  const probe = smallDisk("probe", 64 * 1024);
  return probe !== null;
})();
const canDropRoot = process.getuid?.() === 0 && spawnSync("setpriv", ["--version"]).status === 0;
if (!canMount) console.warn("disk-faults: cannot mount a tmpfs here; the full-disk cases are skipped");

/** Fills the file system but for `leave` bytes. */
function fill(dir: string, leave: number): string {
  const st = statfsSync(dir);
  const free = Number(st.bavail) * Number(st.bsize);
  const filler = join(dir, "filler");
  writeFileSync(filler, new Uint8Array(Math.max(0, free - leave)));
  return filler;
}

/** a grpc-js error's message (grpc-message arrives percent-encoded) */
function msg(e: { details: string }): string {
  return decodeURIComponent(e.details);
}

async function metric(agent: AgentProcess, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${agent.metricsPort}/metrics`)).text();
  const m = new RegExp(`^${name}\\{agent="[^"]*"\\} (\\d+)$`, "m").exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

async function up(dir: string, wrap?: string[]): Promise<{ agent: AgentProcess; rpc: GrpcJs }> {
  const agent = await spawnAgent({ dimension: DIM, args: ["--index-path", dir, "--name", "faulty"], wrap });
  running.push(agent);
  return { agent, rpc: new GrpcJs(agent.address) };
}

/** Reads still answer, from what was acknowledged. */
async function readsWork(rpc: GrpcJs, acked: Item[]): Promise<void> {
  const probe = acked[acked.length - 1]!;
  expect((await rpc.unary(Object$.method.getObject, { id: { id: probe.id } })).vector).toEqual(probe.vector);
  // LinearSearch is the exact answer; an HNSW Search must answer from acknowledged ids,
  // but need not find the probe itself (a graph built on 2 threads leaves about one node
  // in a thousand that no search reaches: CI once got ro-27 for ro-79)
  const exact = await rpc.unary(Search.method.linearSearch, { vector: probe.vector, config: { num: 1 } });
  expect(exact.results[0]).toMatchObject({ id: probe.id, distance: 0 });
  const hits = await rpc.unary(Search.method.search, { vector: probe.vector, config: { num: 1 } });
  expect(acked.map((a) => a.id)).toContain(hits.results[0]?.id ?? "none");
}

/** Every write is refused now, with the reason and what to do. */
async function writesRefused(rpc: GrpcJs): Promise<void> {
  const e = await grpcError(rpc.unary(Insert.method.insert, { vector: { id: "refused", vector: items("x", 1, 99)[0]!.vector } }));
  expect(e.code).toBe(GrpcStatus.UNAVAILABLE);
  expect(msg(e)).toContain("refuses writes");
  expect(msg(e)).toContain("restart");
  expect((await grpcError(rpc.unary(Agent.method.saveIndex, {}))).code).toBe(GrpcStatus.UNAVAILABLE);
  expect((await grpcError(rpc.unary(Object$.method.exists, { id: "refused" }))).code).toBe(GrpcStatus.NOT_FOUND);
}

describe.skipIf(!canMount)("a full disk", () => {
  test("a failed log write is not applied; writes stop; after space is freed and a restart nothing acknowledged is lost", async () => {
    const disk = smallDisk("full-wal", 8 << 20)!;
    const dir = join(disk, "data");
    const s = await up(dir);
    const acked: Item[] = items("base", 50, 41);
    await insertAll(s.rpc, acked);
    await createAndSave(s.rpc);
    const filler = fill(disk, 24 * 1024);
    let failed: { batch: Item[]; err: Awaited<ReturnType<typeof grpcError>> } | undefined;
    for (let i = 0; i < 200 && !failed; i++) {
      const batch = items(`fill${i}`, 20, 100 + i);
      try {
        await insertAll(s.rpc, batch);
        acked.push(...batch);
      } catch (e) {
        failed = { batch, err: e as Awaited<ReturnType<typeof grpcError>> };
      }
    }
    expect(failed, "the disk never filled up").toBeDefined();
    expect(failed!.err.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(msg(failed!.err)).toContain("the disk is full");
    // the failed writes are not visible, now or later
    for (const it of failed!.batch.slice(0, 3)) {
      expect((await grpcError(s.rpc.unary(Object$.method.exists, { id: it.id }))).code).toBe(GrpcStatus.NOT_FOUND);
    }
    await writesRefused(s.rpc);
    await readsWork(s.rpc, acked);
    expect(await metric(s.agent, "alvd_agent_write_failed")).toBe(1);
    expect(await metric(s.agent, "alvd_agent_writes_refused_total")).toBeGreaterThanOrEqual(2);
    expect(s.agent.output()).toContain("refusing writes from now on because its write-ahead log failed: the disk is full");
    // freeing space is not enough: the agent waits for the operator's restart
    rmSync(filler);
    await writesRefused(s.rpc);
    s.rpc.close();
    expect(await s.agent.stop()).toBe(0);

    const again = await up(dir);
    await expectHoldsExactly(again.rpc, acked);
    expect(await metric(again.agent, "alvd_agent_write_failed")).toBe(0);
    await insertAll(again.rpc, items("after", 5, 7));
    again.rpc.close();
    await again.agent.kill();
  });

  test("a failed save keeps the previous generation in charge and stops writes", async () => {
    const disk = smallDisk("full-save", 8 << 20)!;
    const dir = join(disk, "data");
    const s = await up(dir);
    const acked = items("big", 3000, 51); // a graph file of ~250 KB
    await insertAll(s.rpc, acked.slice(0, 100));
    await createAndSave(s.rpc);
    const before = readdirSync(dir).filter((n) => n.startsWith("index-") || n.startsWith("ids-")).sort();
    await insertAll(s.rpc, acked.slice(100));
    await s.rpc.unary(Agent.method.createIndex, { poolSize: 0 });
    const filler = fill(disk, 64 * 1024);
    const e = await grpcError(s.rpc.unary(Agent.method.saveIndex, {}));
    expect(e.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(msg(e)).toContain("SaveIndex failed: the disk is full");
    expect(msg(e)).toContain("previous snapshot stays in charge");
    // the new generation's files are gone, the old ones untouched
    expect(readdirSync(dir).filter((n) => n.startsWith("index-") || n.startsWith("ids-") || n.endsWith(".tmp")).sort()).toEqual(before);
    await writesRefused(s.rpc);
    await readsWork(s.rpc, acked);
    expect(await metric(s.agent, "alvd_agent_write_failed")).toBe(1);
    rmSync(filler);
    s.rpc.close();
    expect(await s.agent.stop()).toBe(0);
    const again = await up(dir);
    await expectHoldsExactly(again.rpc, acked);
    again.rpc.close();
    await again.agent.kill();
  });
});

describe.skipIf(!canMount || !canDropRoot)("a read-only directory", () => {
  test("starting on a read-only file system is refused in one line", async () => {
    const disk = smallDisk("ro", 1 << 20)!;
    mkdirSync(join(disk, "data"));
    expect(spawnSync("mount", ["-o", "remount,ro", disk]).status).toBe(0);
    const r = await startAgent({ dimension: DIM, args: ["--index-path", join(disk, "data"), "--name", "ro"] });
    if ("proc" in r) throw new Error("started on a read-only file system");
    const line = refusalLine(r);
    expect(line).toStartWith("alvd: failed to start: --index-path");
    expect(line).toContain("the file system is read-only (EROFS");
  });

  test("a directory made read-only under a running agent: the save fails, writes stop, the restart loses nothing", async () => {
    const dir = join(root, "chmod-data");
    // an agent without root's override of file permissions, so 0555 really refuses it
    const noOverride = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"];
    const s = await up(dir, noOverride);
    const acked = items("ro", 80, 61);
    await insertAll(s.rpc, acked.slice(0, 40));
    await createAndSave(s.rpc);
    await insertAll(s.rpc, acked.slice(40));
    chmodSync(dir, 0o555);
    try {
      const e = await grpcError(s.rpc.unary(Agent.method.createAndSaveIndex, { poolSize: 0 }));
      expect(e.code).toBe(GrpcStatus.UNAVAILABLE);
      expect(msg(e)).toContain("permission denied (EACCES");
      await writesRefused(s.rpc);
      await readsWork(s.rpc, acked);
      expect(s.agent.output()).toContain("refusing writes from now on because a snapshot save failed");
    } finally {
      chmodSync(dir, 0o755);
    }
    s.rpc.close();
    expect(await s.agent.stop()).toBe(0);
    const again = await up(dir, noOverride);
    await expectHoldsExactly(again.rpc, acked);
    again.rpc.close();
    await again.agent.kill();
  });
});
