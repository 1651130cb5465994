// A writer process killed with SIGKILL mid-stream loses nothing it acknowledged.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { createEngine, type Engine } from "../../../src/agent/engine";
import { engineOptions, tempDir, vectorFor } from "./helpers";

const ROOT = join(import.meta.dir, "../../..");
const BUN = join(ROOT, "node_modules/.bin/bun");
const D = 8;
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Runs the writer until it has acknowledged at least `want` inserts, then SIGKILLs it. */
async function ackedBeforeKill(dir: string, want: number): Promise<string[]> {
  const child = Bun.spawn([BUN, join(import.meta.dir, "fixtures/crash-writer.ts"), dir, String(D)], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "inherit",
  });
  cleanups.push(() => child.kill("SIGKILL"));
  const lines: string[] = [];
  let rest = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    rest += decoder.decode(chunk, { stream: true });
    const parts = rest.split("\n");
    rest = parts.pop()!;
    lines.push(...parts);
    if (lines.length >= want) break;
  }
  child.kill("SIGKILL");
  await child.exited;
  expect(child.signalCode).toBe("SIGKILL");
  return lines;
}

// 210 lands around the writer's SaveIndex (started at 200 acks), 1500 well after it
test.each([210, 1500])("every acknowledged insert survives SIGKILL after %d acks", async (want) => {
  const dir = tempDir();
  cleanups.push(dir.cleanup);
  const acked = await ackedBeforeKill(dir.path, want);
  expect(acked.length).toBeGreaterThanOrEqual(want);

  const engine: Engine = await createEngine(engineOptions({ dimension: D, indexPath: dir.path }));
  cleanups.push(() => engine.close());
  for (const id of acked) {
    const i = Number(id.slice(2));
    expect(engine.get(id)).toEqual({ id, vector: vectorFor(i, D), timestamp: BigInt(i + 1) });
  }
  // unacknowledged writes may or may not be there, but nothing else is
  for (const v of engine.list()) expect(v.vector).toEqual(vectorFor(Number(v.id.slice(2)), D));
  const hits = await engine.search(vectorFor(7, D), { num: 1, radius: -1, expansion: 0 });
  expect(hits[0]).toEqual({ id: "id7", distance: 0 });
});
