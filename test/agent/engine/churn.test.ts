// Ids come and go many times over (slots and keys are recycled inside the store): every
// read must keep answering for the live ids only, before and after a restart.
import { afterEach, expect, test } from "bun:test";
import type { Engine } from "../../../src/agent/engine";
import { bruteForce, openEngine, tempDir, vectorFor } from "./helpers";

const D = 8;
const dirs: { cleanup(): void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

async function check(engine: Engine, live: Map<string, { vector: Float32Array; timestamp: bigint }>, gone: Set<string>): Promise<void> {
  expect(engine.counts().stored).toBe(live.size);
  for (const [id, want] of live) {
    const got = engine.get(id);
    expect(Array.from(got.vector)).toEqual(Array.from(want.vector));
    expect(got.timestamp).toBe(want.timestamp);
  }
  for (const id of gone) if (!live.has(id)) expect(engine.exists(id)).toBe(false);
  const listed = new Map(Array.from(engine.list(), (v) => [v.id, v.timestamp]));
  expect(listed).toEqual(new Map(Array.from(live, ([id, v]) => [id, v.timestamp])));
  const vectors = new Map(Array.from(live, ([id, v]) => [id, v.vector]));
  for (let q = 0; q < 5; q++) {
    const query = vectorFor(10_000 + q, D);
    const hits = await engine.linearSearch(query, { num: 10, radius: -1, expansion: 0 });
    expect(hits.map((h) => h.id)).toEqual(bruteForce(vectors, query, "l2sq", 10).map((h) => h.id));
    for (const h of await engine.search(query, { num: 10, radius: -1, expansion: 0 })) expect(live.has(h.id)).toBe(true);
  }
}

test("rounds of inserts, replacements and removals around builds keep exactly the live ids, across a restart", async () => {
  const dir = tempDir();
  dirs.push(dir);
  let engine = await openEngine({ dimension: D, indexPath: dir.path });
  const live = new Map<string, { vector: Float32Array; timestamp: bigint }>();
  const gone = new Set<string>();
  let seed = 0;
  const put = async (id: string) => {
    const vector = vectorFor(seed++, D);
    const timestamp = BigInt(seed);
    await engine.upsert(id, vector, timestamp, true);
    live.set(id, { vector, timestamp });
  };
  for (let round = 0; round < 6; round++) {
    for (let i = 0; i < 300; i++) await put(`r${round}-${i}`);
    // replace a third of the older ids and remove another third, half of it while a build runs
    const older = [...live.keys()].filter((id) => !id.startsWith(`r${round}-`));
    const build = engine.createIndex(0);
    for (const [i, id] of older.entries()) {
      if (i % 3 === 0) await put(id);
      else if (i % 3 === 1) {
        await engine.remove(id);
        live.delete(id);
        gone.add(id);
      }
      if (i === older.length >> 1) await build;
    }
    await build;
    await engine.updateTimestamp(`r${round}-0`, 1_000_000n + BigInt(round), true);
    live.get(`r${round}-0`)!.timestamp = 1_000_000n + BigInt(round);
    await check(engine, live, gone);
  }
  await engine.saveIndex();
  // more churn after the save, left to the log
  for (let i = 0; i < 100; i++) await put(`late-${i}`);
  for (const id of [...live.keys()].slice(0, 50)) {
    await engine.remove(id);
    live.delete(id);
    gone.add(id);
  }
  await engine.close();
  engine = await openEngine({ dimension: D, indexPath: dir.path });
  try {
    await check(engine, live, gone);
    await engine.createIndex(0);
    await check(engine, live, gone);
  } finally {
    await engine.close();
  }
});
