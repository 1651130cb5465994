// The small pieces the gateway shares with the repair: per-id locks, the coverage a
// clean scan grants searches, the search barrier, tombstones.
import { describe, expect, test } from "bun:test";
import { createCoverage } from "../../src/gateway/coverage";
import { IdLocks } from "../../src/gateway/id-locks";
import { SearchBarrier } from "../../src/gateway/search-barrier";
import { createTombstones } from "../../src/gateway/tombstones";
import { log } from "./cluster";

const settled = async (p: Promise<unknown>) => {
  let done = false;
  void p.then(() => (done = true));
  await Bun.sleep(5);
  return done;
};

describe("IdLocks", () => {
  test("holders of an id take turns, other ids never wait, acquireAll waits for everyone", async () => {
    const locks = new IdLocks();
    const a = await locks.acquire(["x", "y"]);
    const b = locks.acquire(["y", "z"]);
    expect(await settled(locks.acquire(["w"]).then((r) => r()))).toBe(true);
    expect(await settled(b)).toBe(false);
    // acquireAll waits for the holders, and goes before those still waiting
    const all = locks.acquireAll();
    expect(await settled(all)).toBe(false);
    a();
    const release = await all;
    expect(await settled(b)).toBe(false);
    expect(await settled(locks.acquire(["q"]).then((r) => r()))).toBe(false);
    release();
    (await b)();
    await Bun.sleep(5);
    expect(locks.size).toBe(0);
  });

  test("a watch sees the ids held when it began and those taken until it stops, and any every-id holder", async () => {
    const locks = new IdLocks();
    const before = await locks.acquire(["held"]);
    const gone = await locks.acquire(["released-before"]);
    gone();
    const w = locks.watch();
    before();
    (await locks.acquire(["during", "also"]))();
    expect(w.everything).toBe(false);
    w.stop();
    (await locks.acquire(["after"]))();
    expect([...w.ids].sort()).toEqual(["also", "during", "held"]);
    const w2 = locks.watch();
    (await locks.acquireAll())();
    expect(w2.everything).toBe(true);
    w2.stop();
  });
});

describe("Coverage", () => {
  test("granted by a clean scan, taken back by a leaving agent, a short write or a dirty scan", () => {
    const c = createCoverage();
    expect(c.spare()).toBe(0);
    c.clean(c.scanStarted(), 3);
    expect(c.spare()).toBe(2);
    c.agentLeft();
    expect(c.spare()).toBe(1);
    const done = c.shortWrite();
    expect(c.spare()).toBe(0);
    done(true);
    expect(c.spare()).toBe(1);
    const t = c.scanStarted();
    c.shortWrite()(false); // during the scan: that scan cannot vouch for it
    c.clean(t, 3);
    expect(c.spare()).toBe(0);
    c.clean(c.scanStarted(), 3);
    expect(c.spare()).toBe(2);
  });
});

describe("SearchBarrier", () => {
  test("drain waits for the searches in flight when called, not for later ones", async () => {
    const b = new SearchBarrier();
    const first = b.enter();
    const drained = b.drain();
    const later = b.enter();
    expect(await settled(drained)).toBe(false);
    first();
    expect(await settled(drained)).toBe(true);
    later();
    expect(await settled(b.drain())).toBe(true);
  });
});

describe("Tombstones", () => {
  test("a remove an agent missed marks its copies as leftovers; later writes are not", () => {
    let missing = true;
    let clock = 100n;
    const t = createTombstones(() => missing, log, () => clock);
    t.removed(["x"], new Set(["a1", "a2"]), true);
    expect(t.isLeftover("x", [{ agent: "a3", ts: 50n }])).toBe(true);
    // an agent that answered the remove holds it again: written since
    expect(t.isLeftover("x", [{ agent: "a3", ts: 50n }, { agent: "a1", ts: 150n }])).toBe(false);
    // a copy newer than the remove
    expect(t.isLeftover("x", [{ agent: "a3", ts: 150n }])).toBe(false);
    t.removedWhere([{ timestamp: 60n, operator: 5 } as never], new Set(["a1"]), true); // LT 60
    expect(t.isLeftover("y", [{ agent: "a3", ts: 40n }])).toBe(true);
    expect(t.isLeftover("y", [{ agent: "a3", ts: 70n }])).toBe(false);
    clock = 200n;
    t.flushed(new Set(["a1"]), true);
    expect(t.isLeftover("z", [{ agent: "a3", ts: 190n }])).toBe(true);
    t.prune(300n);
    expect(t.size).toBe(0);
    // everyone answered and nobody is away: nothing to remember
    missing = false;
    t.removed(["q"], new Set(["a1"]), true);
    expect(t.size).toBe(0);
    t.removed(["q"], new Set(["a1"]), false);
    expect(t.size).toBe(1);
  });
});
