// Vald agent semantics of single mutations and lookups, and their status codes.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Code } from "@connectrpc/connect";
import type { Engine } from "../../../src/agent/engine";
import { ALL, expectCode, openEngine, vectorFor } from "./helpers";

const D = 8;
let engine: Engine;

beforeEach(async () => {
  engine = await openEngine({ dimension: D });
});
afterEach(async () => {
  await engine.close();
});

describe("validation", () => {
  test("empty id, wrong dimension and non-finite values are InvalidArgument", async () => {
    await expectCode(engine.insert("", vectorFor(1, D), 0n, false), Code.InvalidArgument);
    const err = await expectCode(engine.insert("a", new Float32Array(5), 0n, false), Code.InvalidArgument);
    expect(err.rawMessage).toContain("5");
    expect(err.rawMessage).toContain(String(D));
    const nan = vectorFor(1, D);
    nan[3] = NaN;
    await expectCode(engine.insert("a", nan, 0n, false), Code.InvalidArgument);
    const inf = vectorFor(1, D);
    inf[0] = -Infinity;
    await expectCode(engine.upsert("a", inf, 0n, false), Code.InvalidArgument);
    await expectCode(engine.search(new Float32Array(3), ALL), Code.InvalidArgument);
    await expectCode(engine.search(vectorFor(1, D), { ...ALL, num: 0 }), Code.InvalidArgument);
    expect(engine.counts().stored).toBe(0);
  });
});

describe("insert", () => {
  test("AlreadyExists for an existing id; skipStrictExistCheck overwrites", async () => {
    await engine.insert("a", vectorFor(1, D), 10n, false);
    await expectCode(engine.insert("a", vectorFor(2, D), 0n, false), Code.AlreadyExists);
    expect(engine.get("a").vector).toEqual(vectorFor(1, D));
    await engine.insert("a", vectorFor(2, D), 20n, true);
    expect(engine.get("a")).toEqual({ id: "a", vector: vectorFor(2, D), timestamp: 20n });
    expect(engine.counts().stored).toBe(1);
  });

  test("timestamp 0 means now; the caller's buffer is copied", async () => {
    const before = BigInt(Date.now()) * 1_000_000n;
    const v = vectorFor(1, D);
    await engine.insert("a", v, 0n, false);
    v[0] = 99;
    const got = engine.get("a");
    expect(got.timestamp).toBeGreaterThanOrEqual(before - 1_000_000n);
    expect(got.vector[0]).not.toBe(99);
  });
});

describe("update / upsert", () => {
  test("update: NotFound when absent, AlreadyExists for the same vector unless skipped", async () => {
    await expectCode(engine.update("a", vectorFor(1, D), 0n, false), Code.NotFound);
    await engine.insert("a", vectorFor(1, D), 5n, false);
    await expectCode(engine.update("a", vectorFor(1, D), 0n, false), Code.AlreadyExists);
    await engine.update("a", vectorFor(1, D), 7n, true);
    expect(engine.get("a").timestamp).toBe(7n);
    await engine.update("a", vectorFor(2, D), 9n, false);
    expect(engine.get("a")).toEqual({ id: "a", vector: vectorFor(2, D), timestamp: 9n });
  });

  test("same semantics on committed vectors", async () => {
    await engine.insert("a", vectorFor(1, D), 5n, false);
    await engine.createIndex(0);
    expect(engine.counts().uncommitted).toBe(0);
    await expectCode(engine.update("a", vectorFor(1, D), 0n, false), Code.AlreadyExists);
    await engine.update("a", vectorFor(2, D), 6n, false);
    expect(engine.counts()).toMatchObject({ stored: 1, uncommitted: 1 });
    expect(engine.get("a").vector).toEqual(vectorFor(2, D));
    const hits = await engine.search(vectorFor(1, D), ALL);
    expect(hits.map((h) => h.id)).toEqual(["a"]);
    expect(hits[0]!.distance).toBeGreaterThan(0);
  });

  test("upsert inserts when absent and updates when present", async () => {
    await engine.upsert("a", vectorFor(1, D), 1n, false);
    await engine.upsert("a", vectorFor(2, D), 2n, false);
    expect(engine.get("a")).toEqual({ id: "a", vector: vectorFor(2, D), timestamp: 2n });
    await expectCode(engine.upsert("a", vectorFor(2, D), 3n, false), Code.AlreadyExists);
    await engine.upsert("a", vectorFor(2, D), 3n, true);
    expect(engine.get("a").timestamp).toBe(3n);
  });
});

describe("remove / get / exists", () => {
  test("NotFound for missing ids; removal works on staged and committed vectors", async () => {
    await expectCode(engine.remove("x"), Code.NotFound);
    await expectCode(() => engine.get("x"), Code.NotFound);
    expect(engine.exists("x")).toBe(false);
    await engine.insert("committed", vectorFor(1, D), 0n, false);
    await engine.createIndex(0);
    await engine.insert("staged", vectorFor(2, D), 0n, false);
    expect(engine.exists("committed") && engine.exists("staged")).toBe(true);
    await engine.remove("committed");
    await engine.remove("staged");
    expect(engine.counts()).toMatchObject({ stored: 0, uncommitted: 0 });
    expect(await engine.search(vectorFor(1, D), ALL)).toEqual([]);
    expect(await engine.linearSearch(vectorFor(2, D), ALL)).toEqual([]);
    await expectCode(engine.remove("committed"), Code.NotFound);
  });

  test("list returns every stored vector", async () => {
    for (let i = 0; i < 10; i++) await engine.insert(`id${i}`, vectorFor(i, D), BigInt(i + 1), false);
    await engine.createIndex(0);
    await engine.insert("late", vectorFor(99, D), 100n, false);
    const listed = [...engine.list()].sort((a, b) => Number(a.timestamp - b.timestamp));
    expect(listed.length).toBe(11);
    expect(listed[3]).toEqual({ id: "id3", vector: vectorFor(3, D), timestamp: 4n });
    expect(listed[10]!.id).toBe("late");
  });
});

describe("timestamps", () => {
  test("updateTimestamp: NotFound when absent, moves forward unless forced", async () => {
    await expectCode(engine.updateTimestamp("a", 5n, false), Code.NotFound);
    await engine.insert("a", vectorFor(1, D), 10n, false);
    await engine.updateTimestamp("a", 20n, false);
    expect(engine.get("a").timestamp).toBe(20n);
    await expectCode(engine.updateTimestamp("a", 15n, false), Code.AlreadyExists);
    await engine.updateTimestamp("a", 15n, true);
    expect(engine.get("a").timestamp).toBe(15n);
    expect(engine.get("a").vector).toEqual(vectorFor(1, D));
  });

  test("removeByTimestamp applies every operator and ANDs conditions", async () => {
    const fill = async () => {
      await engine.flush();
      for (let i = 1; i <= 5; i++) await engine.insert(`t${i}`, vectorFor(i, D), BigInt(i * 10), false);
      await engine.createIndex(0);
    };
    const cases: [Parameters<Engine["removeByTimestamp"]>[0], string[]][] = [
      [[{ op: "eq", timestamp: 30n }], ["t3"]],
      [[{ op: "ne", timestamp: 30n }], ["t1", "t2", "t4", "t5"]],
      [[{ op: "ge", timestamp: 40n }], ["t4", "t5"]],
      [[{ op: "gt", timestamp: 40n }], ["t5"]],
      [[{ op: "le", timestamp: 20n }], ["t1", "t2"]],
      [[{ op: "lt", timestamp: 20n }], ["t1"]],
      [[{ op: "gt", timestamp: 10n }, { op: "lt", timestamp: 40n }], ["t2", "t3"]],
      [[{ op: "gt", timestamp: 100n }], []],
    ];
    for (const [conditions, expected] of cases) {
      await fill();
      const removed = await engine.removeByTimestamp(conditions);
      expect(removed.sort()).toEqual(expected);
      expect(engine.counts().stored).toBe(5 - expected.length);
      const left = (await engine.search(vectorFor(1, D), ALL)).map((h) => h.id);
      for (const id of expected) expect(left).not.toContain(id);
    }
    await expectCode(engine.removeByTimestamp([]), Code.InvalidArgument);
  });
});

describe("flush and close", () => {
  test("flush removes everything, staged and committed", async () => {
    for (let i = 0; i < 20; i++) await engine.insert(`id${i}`, vectorFor(i, D), 0n, false);
    await engine.createIndex(0);
    await engine.insert("staged", vectorFor(100, D), 0n, false);
    await engine.flush();
    expect(engine.counts()).toEqual({ stored: 0, uncommitted: 0, indexing: false, saving: false });
    expect(await engine.search(vectorFor(1, D), ALL)).toEqual([]);
    await engine.insert("id1", vectorFor(1, D), 0n, false);
    expect((await engine.search(vectorFor(1, D), ALL)).map((h) => h.id)).toEqual(["id1"]);
  });

  test("every call fails with Unavailable once close has begun", async () => {
    await engine.insert("a", vectorFor(1, D), 0n, false);
    const closing = engine.close();
    await expectCode(engine.insert("b", vectorFor(2, D), 0n, false), Code.Unavailable);
    await expectCode(engine.search(vectorFor(1, D), ALL), Code.Unavailable);
    await expectCode(() => engine.get("a"), Code.Unavailable);
    await expectCode(engine.createIndex(0), Code.Unavailable);
    await expectCode(engine.remove("a"), Code.Unavailable);
    await closing;
    await expectCode(() => engine.exists("a"), Code.Unavailable);
  });
});
