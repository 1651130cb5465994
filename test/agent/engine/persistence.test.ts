// --index-path: snapshots, metadata checks, WAL replay, torn tails and truncation.
import { afterEach, describe, expect, test } from "bun:test";
import { Code } from "@connectrpc/connect";
import { appendFileSync, readdirSync, statSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { createEngine, type Engine, type EngineOptions, type RecoveryReport } from "../../../src/agent/engine";
import { ALL, engineOptions, expectCode, tempDir, vectorFor } from "./helpers";

const D = 8;
const dirs: { cleanup(): void }[] = [];
const engines: Engine[] = [];

afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close().catch(() => {})));
  for (const d of dirs.splice(0)) d.cleanup();
});

function newDir(): string {
  const d = tempDir();
  dirs.push(d);
  return d.path;
}

async function open(indexPath: string, overrides: Partial<EngineOptions> = {}): Promise<{ engine: Engine; recovery: RecoveryReport }> {
  let recovery: RecoveryReport | undefined;
  const engine = await createEngine(engineOptions({ dimension: D, indexPath, ...overrides }), {
    onRecovered: (r) => (recovery = r),
  });
  engines.push(engine);
  return { engine, recovery: recovery! };
}

function segments(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.startsWith("wal-")).sort();
}

/** Everything observable about an engine's data, for comparing two engines. */
async function stateOf(engine: Engine) {
  const stored = [...engine.list()].sort((a, b) => (a.id < b.id ? -1 : 1));
  const searches = [];
  for (const seed of [1, 50, 999]) searches.push(await engine.search(vectorFor(seed, D), { num: 10, radius: -1, expansion: 0 }));
  return { stored, searches, counts: engine.counts() };
}

async function mutate(engine: Engine): Promise<void> {
  const acks: Promise<unknown>[] = [];
  for (let i = 0; i < 300; i++) acks.push(engine.insert(`v${i}`, vectorFor(i, D), BigInt(1000 + i), false));
  await Promise.all(acks);
  await engine.createIndex(0);
  for (let i = 300; i < 340; i++) await engine.insert(`v${i}`, vectorFor(i, D), BigInt(1000 + i), false);
  await engine.update("v3", vectorFor(5003, D), 7n, false); // committed
  await engine.update("v310", vectorFor(5310, D), 8n, false); // staged
  await engine.remove("v4");
  await engine.remove("v311");
  await engine.updateTimestamp("v5", 99_999n, false);
  await engine.removeByTimestamp([{ op: "ge", timestamp: 1200n }, { op: "lt", timestamp: 1210n }]);
}

describe("snapshots", () => {
  test("save then a new engine loads the same data, staged vectors included", async () => {
    const dir = newDir();
    const a = (await open(dir)).engine;
    await mutate(a);
    const before = await stateOf(a);
    expect(before.counts.uncommitted).toBeGreaterThan(0);
    await a.saveIndex();
    // the fresh, empty segment, and the one generation 0 (the empty start, still kept) replays
    expect(segments(dir)).toEqual(["wal-000000000000.log", "wal-000000000001.log"]);
    expect(statSync(join(dir, segments(dir)[1]!)).size).toBe(16);
    // abandon a without close: b must not depend on a final save
    const { engine: b, recovery } = await open(dir);
    expect(recovery).toMatchObject({ replayedRecords: 0, tornSegments: 0 });
    expect(await stateOf(b)).toEqual(before);
    await b.createIndex(0);
    expect((await b.search(vectorFor(5310, D), { num: 1, radius: -1, expansion: 0 }))[0]).toEqual({ id: "v310", distance: 0 });
  });

  test("a directory made with other flags is refused with a message naming them", async () => {
    const dir = newDir();
    const a = (await open(dir)).engine;
    await a.insert("x", vectorFor(1, D), 0n, false);
    await a.close();
    const dim = await expectCode(open(dir, { dimension: 16 }), Code.FailedPrecondition);
    expect(dim.rawMessage).toContain("--dimension=8");
    expect(dim.rawMessage).toContain("--dimension=16");
    const metric = await expectCode(open(dir, { metric: "cos" }), Code.FailedPrecondition);
    expect(metric.rawMessage).toContain("--distance-type=l2");
    expect(metric.rawMessage).toContain("--distance-type=cosine");
    await expectCode(open(dir, { quantization: "f16" }), Code.FailedPrecondition);
    const { engine } = await open(dir);
    expect(engine.get("x").vector).toEqual(vectorFor(1, D));
  });

  test("an empty engine saves, closes and reopens", async () => {
    const dir = newDir();
    const a = (await open(dir)).engine;
    await a.saveIndex();
    await a.close();
    const { engine: b, recovery } = await open(dir);
    expect(recovery).toMatchObject({ generation: 1, replayedRecords: 0 });
    expect(b.counts()).toEqual({ stored: 0, uncommitted: 0, indexing: false, saving: false });
    await b.insert("x", vectorFor(1, D), 0n, false);
    await b.createIndex(0);
    await b.close();
    const { engine: c } = await open(dir);
    expect(c.get("x").vector).toEqual(vectorFor(1, D));
  });

  test("close saves; reopening replays nothing", async () => {
    const dir = newDir();
    const a = (await open(dir)).engine;
    await mutate(a);
    const before = await stateOf(a);
    await a.close();
    const { engine: b, recovery } = await open(dir);
    expect(recovery.replayedRecords).toBe(0);
    expect(await stateOf(b)).toEqual(before);
  });
});

describe("write-ahead log", () => {
  test("acknowledged mutations survive without any save", async () => {
    const dir = newDir();
    const a = (await open(dir)).engine;
    await mutate(a);
    const before = await stateOf(a);
    const { engine: b, recovery } = await open(dir);
    expect(recovery.replayedRecords).toBeGreaterThan(300);
    // replayed vectors are staged again; the data and answers are the same
    const after = await stateOf(b);
    expect(after.stored).toEqual(before.stored);
    // replayed vectors are scanned exactly until the next build, while `before` came from
    // the (approximate) graph: the same hits but for a rare node the graph missed
    after.searches.forEach((hits, i) => {
      const was = new Map(before.searches[i]!.map((h) => [h.id, h.distance]));
      const common = hits.filter((h) => was.has(h.id));
      expect(common.length).toBeGreaterThanOrEqual(hits.length - 1);
      for (const h of common) expect(h.distance).toBeCloseTo(was.get(h.id)!, 5);
    });
    await b.flush();
    const { engine: c } = await open(dir);
    expect(c.counts().stored).toBe(0);
  });

  test("mutations made while a save runs are not lost", async () => {
    const dir = newDir();
    const a = (await open(dir)).engine;
    await mutate(a);
    const saving = a.saveIndex();
    // the save job starts on the next microtasks; the graph file is written on a native thread
    await null;
    await null;
    expect(a.counts().saving).toBe(true);
    const during: Promise<unknown>[] = [];
    for (let i = 0; i < 50; i++) during.push(a.insert(`during${i}`, vectorFor(7000 + i, D), 0n, false));
    during.push(a.remove("v0"));
    await Promise.all([saving, ...during]);
    await a.insert("after", vectorFor(8000, D), 0n, false);
    const before = await stateOf(a);
    const { engine: b } = await open(dir);
    expect((await stateOf(b)).stored).toEqual(before.stored);
    expect(b.exists("during49") && b.exists("after") && !b.exists("v0")).toBe(true);
  });

  test("a write is invisible until durable, but the next write already sees it", async () => {
    const dir = newDir();
    const a = (await open(dir)).engine;
    await a.insert("old", vectorFor(1, D), 0n, false);
    const inserting = a.insert("x", vectorFor(2, D), 0n, false);
    // no read sees x before its record is on disk: a failing log could not take it back otherwise
    expect(a.exists("x")).toBe(false);
    expect(a.counts().stored).toBe(1);
    expect((await a.search(vectorFor(2, D), { num: 2, radius: -1, expansion: 0 })).map((h) => h.id)).toEqual(["old"]);
    // ... while writes are decided against it, in call order (a stream's insert then update)
    await expectCode(a.insert("x", vectorFor(3, D), 0n, false), Code.AlreadyExists);
    const updating = a.update("x", vectorFor(4, D), 0n, false);
    const removing = a.remove("old");
    await Promise.all([inserting, updating, removing]);
    expect(a.get("x").vector).toEqual(vectorFor(4, D));
    expect(a.exists("old")).toBe(false);
  });

  test("writes in flight when a save starts are in the snapshot or its log", async () => {
    const dir = newDir();
    const a = (await open(dir, { keepGenerations: 1 })).engine;
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 100; i++) writes.push(a.insert(`f${i}`, vectorFor(i, D), 0n, false));
    writes.push(a.remove("f7"), a.update("f8", vectorFor(808, D), 0n, false));
    // same tick: the save's capture holds writes whose records are not yet durable
    const saving = a.saveIndex();
    await Promise.all([...writes, saving]);
    const { engine: b, recovery } = await open(dir);
    expect(recovery.replayedRecords).toBe(0);
    expect(b.counts().stored).toBe(99);
    expect(b.exists("f7")).toBe(false);
    expect(b.get("f8").vector).toEqual(vectorFor(808, D));
  });

  test("a torn tail is ignored and everything before it kept", async () => {
    const dir = newDir();
    const a = (await open(dir)).engine;
    for (let i = 0; i < 20; i++) await a.insert(`v${i}`, vectorFor(i, D), 0n, false);
    const wal = join(dir, segments(dir).at(-1)!);
    // cut the last record in half, then add garbage as a crash mid-write might leave
    truncateSync(wal, statSync(wal).size - 10);
    appendFileSync(wal, new Uint8Array([7, 0, 0, 0, 1, 2]));
    const { engine: b, recovery } = await open(dir);
    expect(recovery.tornSegments).toBe(1);
    expect(b.counts().stored).toBe(19);
    expect(b.exists("v18") && !b.exists("v19")).toBe(true);
    // new writes go to a fresh segment and survive another restart
    await b.insert("v19", vectorFor(19, D), 0n, false);
    const { engine: c } = await open(dir);
    expect(c.counts().stored).toBe(20);
  });

  test("periodic save truncates the log (one generation kept)", async () => {
    const dir = newDir();
    const a = (await open(dir, { saveIntervalMs: 20, keepGenerations: 1 })).engine;
    for (let i = 0; i < 20; i++) await a.insert(`v${i}`, vectorFor(i, D), 0n, false);
    for (let i = 0; i < 300 && !(segments(dir).length === 1 && statSync(join(dir, segments(dir)[0]!)).size === 16); i++) {
      await Bun.sleep(10);
    }
    expect(segments(dir)).toHaveLength(1);
    expect(statSync(join(dir, segments(dir)[0]!)).size).toBe(16);
    const { engine: b, recovery } = await open(dir);
    expect(recovery.replayedRecords).toBe(0);
    expect(b.counts().stored).toBe(20);
  });
});
