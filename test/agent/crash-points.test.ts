// Crashes at every step of the save protocol and of CreateIndex, in a real agent: the
// test-only ALVD_TEST_CRASH_AT makes the process SIGKILL itself at that step, then a
// plain restart must hold every acknowledged write. Plus SIGKILLs from outside while a
// large build and a large save run, landing wherever they land.
import { afterAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent } from "../../src/gen/core/v1/agent_pb";
import { CRASH_POINTS } from "../../src/agent/engine/crash-points";
import { brokenFiles, createAndSave, damage, DIM, expectHoldsExactly, insertAll, items, type Item } from "./durability";
import { GrpcJs, spawnAgent, type AgentProcess } from "./harness";

setDefaultTimeout(60_000);

const root = mkdtempSync(join(tmpdir(), "alvd-crash-points-"));
const running: AgentProcess[] = [];
let dirs = 0;

afterAll(async () => {
  for (const p of running) if (p.proc.exitCode === null) await p.kill();
  rmSync(root, { recursive: true, force: true });
});

async function up(dir: string, env: Record<string, string> = {}): Promise<{ agent: AgentProcess; rpc: GrpcJs }> {
  const agent = await spawnAgent({ dimension: DIM, args: ["--index-path", dir, "--name", "crashing"], env });
  running.push(agent);
  return { agent, rpc: new GrpcJs(agent.address) };
}

/** The call that reaches the crash point: the process dies under it. */
async function diesDuring(s: { agent: AgentProcess; rpc: GrpcJs }, call: Promise<unknown>): Promise<void> {
  const outcome = await call.then(
    () => "answered",
    () => "failed",
  );
  await s.agent.proc.exited;
  s.rpc.close();
  expect(outcome).toBe("failed");
  expect(s.agent.proc.signalCode).toBe("SIGKILL");
}

const first = items("first", 120, 21);
const second = items("second", 60, 22);
const third = items("third", 40, 23);
const savePoints = CRASH_POINTS.filter((p) => p.startsWith("save:"));

describe.concurrent("a crash at each step", () => {
  // the second save: it has a previous generation to keep and generation 0's log to drop
  test.each(savePoints)("of the second save (%s): every acknowledged write is back", async (point) => {
    const dir = join(root, `dir-${++dirs}`);
    const s = await up(dir, { ALVD_TEST_CRASH_AT: `${point}#2` });
    await insertAll(s.rpc, first);
    await createAndSave(s.rpc);
    await insertAll(s.rpc, second);
    // staged vectors travel in the id map: some of the snapshot is uncommitted
    await s.rpc.unary(Agent.method.createIndex, { poolSize: 0 });
    await insertAll(s.rpc, third);
    await diesDuring(s, s.rpc.unary(Agent.method.saveIndex, {}));
    const again = await up(dir);
    await expectHoldsExactly(again.rpc, [...first, ...second, ...third]);
    // and it saves and restarts cleanly from there
    await createAndSave(again.rpc);
    again.rpc.close();
    expect(await again.agent.stop()).toBe(0);
    const third_ = await up(dir);
    await expectHoldsExactly(third_.rpc, [...first, ...second, ...third]);
    third_.rpc.close();
    await third_.agent.kill();
  });

  test.each(CRASH_POINTS.filter((p) => p.startsWith("create-index:")))("of CreateIndex (%s): every acknowledged write is back", async (point) => {
    const dir = join(root, `dir-${++dirs}`);
    const s = await up(dir, { ALVD_TEST_CRASH_AT: point });
    await insertAll(s.rpc, first);
    await diesDuring(s, s.rpc.unary(Agent.method.createIndex, { poolSize: 0 }));
    const again = await up(dir);
    await expectHoldsExactly(again.rpc, first);
    again.rpc.close();
    await again.agent.kill();
  });

  test("of a recovery, after the damaged files were moved aside", async () => {
    const dir = join(root, `dir-${++dirs}`);
    const s = await up(dir);
    await insertAll(s.rpc, first);
    await createAndSave(s.rpc);
    s.rpc.close();
    await s.agent.kill();
    damage(join(dir, "index-1.usearch"), "bit-flipped");
    const crashing = await spawnAgent({ dimension: DIM, args: ["--index-path", dir], env: { ALVD_TEST_CRASH_AT: "recovery:after-aside" } }).then(
      () => "started",
      () => "died",
    );
    expect(crashing).toBe("died");
    expect(brokenFiles(dir)).toEqual(["ids-1.bin", "index-1.usearch"]);
    // meta.json still names generation 1, whose files are gone: the next start falls back again
    const again = await up(dir);
    await expectHoldsExactly(again.rpc, first);
    again.rpc.close();
    await again.agent.kill();
  });
});

describe("SIGKILL from outside", () => {
  test("during a large CreateIndex and during the SaveIndex after it", async () => {
    const dir = join(root, `dir-${++dirs}`);
    const big: Item[] = items("big", 4000, 31);
    let s = await up(dir);
    await insertAll(s.rpc, big.slice(0, 2000));
    await insertAll(s.rpc, big.slice(2000));
    // the build runs on native threads; the kill lands somewhere inside it
    const building = s.rpc.unary(Agent.method.createIndex, { poolSize: 0 }).catch(() => undefined);
    await Bun.sleep(20);
    await s.agent.kill();
    await building;
    s.rpc.close();
    s = await up(dir);
    await expectHoldsExactly(s.rpc, big);
    await s.rpc.unary(Agent.method.createIndex, { poolSize: 0 });
    const saving = s.rpc.unary(Agent.method.saveIndex, {}).catch(() => undefined);
    // once the graph file of the new generation appears, the save is under way
    while (!readdirSync(dir).some((n) => n.startsWith(".index-") || n.startsWith("index-"))) await Bun.sleep(1);
    await s.agent.kill();
    await saving;
    s.rpc.close();
    s = await up(dir);
    await expectHoldsExactly(s.rpc, big);
    s.rpc.close();
    await s.agent.kill();
  });
});
