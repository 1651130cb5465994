// The repair's per-id decisions (plan.ts), its membership states and the lease that
// keeps two servers from repairing at once.
import { describe, expect, test } from "bun:test";
import { planId, unbalanced, type Holding, type Peer, type PlanContext } from "../../src/server/heal/plan";
import { createMembership, type MemberEvent } from "../../src/server/heal/membership";
import { createRepairLease } from "../../src/server/heal/lease";
import { testAgent } from "../gateway/cluster";
import { log } from "../gateway/cluster";

const peers = (loads: number[], draining: number[] = []): Peer[] => loads.map((load, i) => ({ name: `p${i}`, draining: draining.includes(i), load }));
const ctx = (p: Peer[], over: Partial<PlanContext> = {}): PlanContext => ({ peers: p, target: 2, mayChange: true, balancing: false, ...over });
const h = (peer: number, ts: bigint): Holding => ({ peer, ts });

describe("planId", () => {
  test("a missing copy goes to the least-loaded agent that lacks the id", () => {
    const p = peers([10, 5, 3, 8]);
    const v = planId("x", [h(0, 7n)], ctx(p));
    expect(v.under).toBe(true);
    expect(v.fix?.puts).toEqual([{ peer: 2, why: "repair" }]);
    expect(v.fix?.drops).toEqual([]);
    expect(v.fix?.source).toBe(0);
    expect(p[2]!.load).toBe(4); // projected for the ids planned next
  });

  test("the newest timestamp wins: a stale copy gets the newest version", () => {
    const v = planId("x", [h(0, 5n), h(1, 9n)], ctx(peers([1, 1, 1])));
    expect(v.stale).toBe(1);
    expect(v.fix?.ts).toBe(9n);
    expect(v.fix?.source).toBe(1);
    expect(v.fix?.puts).toEqual([{ peer: 0, why: "stale" }]);
  });

  test("copies above the target go, stale ones and the most loaded first", () => {
    const v = planId("x", [h(0, 9n), h(1, 9n), h(2, 9n), h(3, 4n)], ctx(peers([9, 2, 5, 1])));
    expect(v.over).toBe(true);
    expect(v.fix?.puts).toEqual([]);
    expect(v.fix?.drops.map((d) => d.peer).sort()).toEqual([0, 3]);
  });

  test("a draining agent's copy moves: copied elsewhere first, then dropped", () => {
    const v = planId("x", [h(0, 9n), h(1, 9n)], ctx(peers([5, 5, 1], [1])));
    expect(v.under).toBe(true);
    expect(v.fix?.puts).toEqual([{ peer: 2, why: "move" }]);
    expect(v.fix?.drops).toEqual([{ peer: 1, why: "drain" }]);
  });

  test("nothing changes while changes are not allowed, but the counts are still told", () => {
    const v = planId("x", [h(0, 1n)], ctx(peers([1, 1]), { mayChange: false }));
    expect([v.under, v.fix]).toEqual([true, undefined]);
  });

  test("balancing moves one copy from above the mean to below it, and stops when even", () => {
    const p = peers([10, 10, 0]);
    const v = planId("x", [h(0, 3n), h(1, 3n)], ctx(p, { balancing: true }));
    expect(v.fix?.puts).toEqual([{ peer: 2, why: "move" }]);
    expect(v.fix?.drops).toEqual([{ peer: 0, why: "move" }]);
    const even = peers([7, 7, 6]);
    expect(planId("y", [h(0, 3n), h(1, 3n)], ctx(even, { balancing: true })).fix).toBeUndefined();
  });

  test("leftovers of a remove the agent missed are dropped, never copied", () => {
    const v = planId("x", [h(1, 3n)], ctx(peers([1, 1, 1]), { leftover: () => true }));
    expect(v.under).toBe(false);
    expect(v.fix?.puts).toEqual([]);
    expect(v.fix?.drops).toEqual([{ peer: 1, why: "trim" }]);
  });

  test("unbalanced: outside ±10 % of the mean, draining agents left out", () => {
    expect(unbalanced(peers([100, 100, 100]), 0.1)).toBe(false);
    expect(unbalanced(peers([100, 100, 70]), 0.1)).toBe(true);
    expect(unbalanced(peers([100, 100, 0], [2]), 0.1)).toBe(false);
  });
});

describe("membership", () => {
  test("connected → away → lost after --agent-lost-after; the same name returning is the same agent", async () => {
    const m = createMembership({ lostAfterMs: 60, log });
    const events: MemberEvent[] = [];
    m.onEvent((e) => events.push(e));
    m.connected("a");
    const first = m.get("a")!.firstSeen;
    m.disconnected("a");
    expect(m.get("a")!.state).toBe("away");
    expect(m.away().map((x) => x.name)).toEqual(["a"]);
    while (m.get("a")!.state !== "lost") await Bun.sleep(10);
    m.connected("a");
    expect(m.get("a")).toMatchObject({ state: "connected", firstSeen: first });
    expect(events.map((e) => e.kind)).toEqual(["joined", "away", "lost", "returned"]);
    // back before the deadline: never lost
    m.disconnected("a");
    m.connected("a");
    await Bun.sleep(100);
    expect(m.get("a")!.state).toBe("connected");
    m.close();
  });
});

describe("repair lease (HA: several servers share agents)", () => {
  test("only one server holds it on a set of agents; it passes on when released", async () => {
    const agents = [await testAgent("l1", 4), await testAgent("l2", 4)];
    const handles = agents.map((a) => a.handle);
    const s1 = createRepairLease(5000);
    const s2 = createRepairLease(5000);
    expect(await s1.acquire(handles)).toBe(true);
    expect(await s2.acquire(handles)).toBe(false);
    expect(s2.other).toBe(s1.holder);
    // a server that reaches only one of the agents cannot take it there either
    expect(await s2.acquire([handles[1]!])).toBe(false);
    await s1.release(handles);
    expect(await s2.acquire(handles)).toBe(true);
    expect(await s1.acquire(handles)).toBe(false);
    await Promise.all(agents.map((a) => a.engine.close()));
  });
});
