// A writer process killed with SIGKILL mid-stream loses nothing it acknowledged.
import { afterEach, expect, test } from "bun:test";
import { Code } from "@connectrpc/connect";
import { join } from "node:path";
import { createEngine, type Engine } from "../../../src/agent/engine";
import { engineOptions, expectCode, tempDir, vectorFor } from "./helpers";

const ROOT = join(import.meta.dir, "../../..");
const BUN = join(ROOT, "node_modules/.bin/bun");
const D = 8;
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Starts the writer; `acked(n)` resolves with the ids it acknowledged once there are at least n. */
function startWriter(dir: string) {
  const child = Bun.spawn([BUN, join(import.meta.dir, "fixtures/crash-writer.ts"), dir, String(D)], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "inherit",
  });
  cleanups.push(() => child.kill("SIGKILL"));
  const lines: string[] = [];
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let rest = "";
  return {
    async acked(want: number): Promise<string[]> {
      while (lines.length < want) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`writer exited after ${lines.length} acknowledgements`);
        rest += decoder.decode(value, { stream: true });
        const parts = rest.split("\n");
        rest = parts.pop()!;
        lines.push(...parts);
      }
      return lines;
    },
    async kill(): Promise<void> {
      child.kill("SIGKILL");
      await child.exited;
      expect(child.signalCode).toBe("SIGKILL");
    },
  };
}

async function openOn(dir: string): Promise<Engine> {
  const engine = await createEngine(engineOptions({ dimension: D, indexPath: dir }));
  cleanups.push(() => engine.close());
  return engine;
}

// 210 lands around the writer's SaveIndex (started at 200 acks), 1500 well after it
test.each([210, 1500])("every acknowledged insert survives SIGKILL after %d acks", async (want) => {
  const dir = tempDir();
  cleanups.push(dir.cleanup);
  const writer = startWriter(dir.path);
  const acked = [...(await writer.acked(want))];
  await writer.kill();
  expect(acked.length).toBeGreaterThanOrEqual(want);

  const engine = await openOn(dir.path);
  for (const id of acked) {
    const i = Number(id.slice(2));
    expect(engine.get(id)).toEqual({ id, vector: vectorFor(i, D), timestamp: BigInt(i + 1) });
  }
  // unacknowledged writes may or may not be there, but nothing else is
  for (const v of engine.list()) expect(v.vector).toEqual(vectorFor(Number(v.id.slice(2)), D));
  const hits = await engine.search(vectorFor(7, D), { num: 1, radius: -1, expansion: 0 });
  expect(hits[0]).toEqual({ id: "id7", distance: 0 });
});

test("a directory in use by a live agent is refused; a killed agent's lock is taken over", async () => {
  const dir = tempDir();
  cleanups.push(dir.cleanup);
  const writer = startWriter(dir.path);
  await writer.acked(10);
  const err = await expectCode(createEngine(engineOptions({ dimension: D, indexPath: dir.path })), Code.FailedPrecondition);
  expect(err.rawMessage).toContain("in use by process");
  await writer.kill();
  const engine = await openOn(dir.path);
  expect(engine.counts().stored).toBeGreaterThanOrEqual(10);
});
