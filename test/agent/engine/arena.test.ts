// The staging arena and the CreateIndex that adds it in steps: what is staged is kept
// bit for bit, runs are found where vectors sit back to back, and a build larger than
// one step (16 MiB of vectors) commits everything, replaced and removed ids included.
import { afterEach, expect, test } from "bun:test";
import type { Engine } from "../../../src/agent/engine";
import { contiguousRuns, VectorArena } from "../../../src/agent/engine/arena";
import { openEngine, vectorFor } from "./helpers";

const engines: Engine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

test("copies keep the values; adopt takes the arena's own views and copies anything else", () => {
  const arena = new VectorArena(3);
  const a = arena.copy([1, 2, 3]);
  const b = arena.copy(new Float32Array([4, 5, 6]));
  expect([...a, ...b]).toEqual([1, 2, 3, 4, 5, 6]);
  expect(a.buffer).toBe(b.buffer);
  expect(arena.adopt(a)).toBe(a);
  const outside = new Float32Array([7, 8, 9]);
  const adopted = arena.adopt(outside);
  expect(adopted).not.toBe(outside);
  expect([...adopted]).toEqual([7, 8, 9]);
  outside[0] = 0; // the caller's buffer may change: the arena's copy does not
  expect(adopted[0]).toBe(7);
  // chunks fill and new ones start: values stay right across the boundary
  const many = Array.from({ length: 2000 }, (_, i) => arena.copy([i, -i, i / 2]));
  many.forEach((v, i) => expect([...v]).toEqual([i, -i, i / 2]));
});

test("take gives distinct rooms side by side, which adopt then keeps as they are", () => {
  const arena = new VectorArena(4);
  const rooms = Array.from({ length: 1500 }, () => arena.take());
  rooms.forEach((r, i) => r.set([i, i + 1, i + 2, i + 3]));
  rooms.forEach((r, i) => {
    expect([...r]).toEqual([i, i + 1, i + 2, i + 3]);
    expect(arena.adopt(r)).toBe(r);
  });
  // within a chunk each room starts where the last one ended
  expect(rooms[1]!.byteOffset - rooms[0]!.byteOffset).toBe(16);
  expect(rooms[1]!.buffer).toBe(rooms[0]!.buffer);
  // a room left unfilled (a refused write) is only skipped: the next copy gets its own
  const skipped = arena.take();
  const next = arena.copy([9, 9, 9, 9]);
  expect(next.byteOffset === skipped.byteOffset && next.buffer === skipped.buffer).toBe(false);
});

test("contiguousRuns cuts where vectors stop sitting back to back", () => {
  const arena = new VectorArena(2);
  const vs = Array.from({ length: 6 }, (_, i) => arena.copy([i, i]));
  const runs = contiguousRuns([vs[0]!, vs[1]!, vs[2]!, vs[4]!, vs[5]!, vs[3]!], (v) => v);
  expect(runs.map((r) => r.items.length)).toEqual([3, 2, 1]);
  expect([...runs[0]!.vectors]).toEqual([0, 0, 1, 1, 2, 2]);
  expect([...runs[1]!.vectors]).toEqual([4, 4, 5, 5]);
  expect([...runs[2]!.vectors]).toEqual([3, 3]);
  expect(contiguousRuns([], (v: Float32Array) => v)).toEqual([]);
});

test("a CreateIndex of several build steps commits every staged vector, with replacements and removals in between", async () => {
  // 4096-d: 1,024 vectors make one 16 MiB step, so 1,500 take two
  const D = 4096;
  const engine = await openEngine({ dimension: D, indexThreads: 2, connectivity: 8, expansionAdd: 16 });
  engines.push(engine);
  const N = 1500;
  const expected = new Map<string, Float32Array>();
  await Promise.all(
    Array.from({ length: N }, (_, i) => {
      expected.set(`v${i}`, vectorFor(i, D));
      return engine.insert(`v${i}`, vectorFor(i, D), BigInt(i + 1), false);
    }),
  );
  // holes in the arena's runs: replaced vectors move to the end, removed ones are gone
  for (let i = 0; i < N; i += 7) {
    expected.set(`v${i}`, vectorFor(N + i, D));
    await engine.update(`v${i}`, vectorFor(N + i, D), BigInt(N + i + 1), false);
  }
  for (let i = 3; i < N; i += 11) {
    expected.delete(`v${i}`);
    await engine.remove(`v${i}`);
  }
  await engine.createIndex(0);
  expect(engine.counts()).toMatchObject({ stored: expected.size, uncommitted: 0 });
  for (const [id, v] of expected) expect(engine.get(id).vector).toEqual(v);
  for (const id of [...expected.keys()].filter((_, i) => i % 97 === 0)) {
    // exact: random 4096-d data defeats a small graph, and the point here is what was committed
    const hits = await engine.linearSearch(expected.get(id)!, { num: 1, radius: -1, expansion: 0 });
    expect(hits[0]?.id).toBe(id);
  }
}, 60_000);
