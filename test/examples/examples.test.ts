// Every file in examples/ through the compiled binary, as a user runs it: the binary
// alone in an empty directory with the example next to it (`alvd server --config
// examples/….ts`), called with the official Vald Node client.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isolatedCopy, releaseBinary } from "../dist/binary";
import { ROOT } from "../lib/process";
import { client, eventually, failure, startServer, status, type Client, type Server } from "./harness";

let box: ReturnType<typeof isolatedCopy>;
const running: Server[] = [];

beforeAll(async () => {
  box = isolatedCopy((await releaseBinary()).binary);
  cpSync(join(ROOT, "examples"), join(box.dir, "examples"), { recursive: true });
}, 15 * 60_000);

afterAll(async () => {
  for (const s of running) await s.stop();
  box?.cleanup();
});

/** the example's server (the binary, in its directory) and a Vald client for it */
async function serve(example: string, extra: string[] = []): Promise<{ server: Server; c: Client }> {
  const server = await startServer(`examples/${example}`, ["--dimension=4", ...extra], { cmd: [box.exe], cwd: box.dir, env: box.env });
  running.push(server);
  return { server, c: client(server.grpcPort) };
}

async function done(server: Server, c: Client): Promise<void> {
  c.close();
  await server.stop();
}

const at = (x: number): number[] => [x, 0, 0, 0];

test("every example is tested here", () => {
  const tested = ["config.ts", "dump.ts", "filtering.ts", "jsonize.ts", "retryable.ts", "reverse-id.ts", "sort.ts", "timestamping.ts", "variable-filtering.ts", "vectorizer.ts"];
  expect(readdirSync(join(ROOT, "examples")).sort()).toEqual(tested);
});

test("the binary's alvd types is src/gen/alvd.d.ts", () => {
  const r = Bun.spawnSync([box.exe, "types"], { cwd: box.dir, env: box.env, stdout: "pipe" });
  expect(r.exitCode).toBe(0);
  expect(r.stdout.toString()).toBe(readFileSync(join(ROOT, "src/gen/alvd.d.ts"), "utf8"));
});

describe("examples through the compiled binary", () => {
  test("config.ts (every setting) serves inserts and searches, flags overriding its ports", async () => {
    const { server, c } = await serve("config.ts");
    await c.insert("a", at(1));
    await c.insert("b", at(2));
    expect((await c.search(at(0), 2)).map((h) => h.id)).toEqual(["a", "b"]);
    expect(server.output()).toContain("path=alvd-data"); // the agent section reached the embedded agent
    await done(server, c);
  });

  test("dump.ts prints searches, results and inserts", async () => {
    const { server, c } = await serve("dump.ts");
    await c.insert("d1", at(1));
    await c.search(at(0), 3);
    await eventually("dump lines", async () => server.output().includes("result d1 at distance"));
    expect(server.output()).toContain("insert d1");
    expect(server.output()).toContain("search for the 3 nearest neighbours");
    await done(server, c);
  });

  test("filtering.ts keeps results nearer than 10.9 when the egress target asks for it", async () => {
    const { server, c } = await serve("filtering.ts");
    for (const x of [1, 2, 3, 4, 5, 20]) await c.insert(`p${x}`, at(x));
    const all = await c.search(at(0), 6);
    expect(all.some((h) => h.distance >= 10.9)).toBe(true);
    const near = await c.search(at(0), 6, { egressHost: "distance-filtering" });
    expect(near.length).toBeGreaterThan(0);
    expect(near).toEqual(all.filter((h) => h.distance < 10.9));
    expect(await c.search(at(0), 6, { egressHost: "other" })).toEqual(all);
    await done(server, c);
  });

  test("jsonize.ts answers ids as JSON with the time", async () => {
    const { server, c } = await serve("jsonize.ts");
    await c.insert("j1", at(1));
    const [hit] = await c.search(at(0), 1);
    const parsed = JSON.parse(hit!.id) as { id: string; time: string };
    expect(parsed.id).toBe("j1");
    expect(Number.isNaN(Date.parse(parsed.time))).toBe(false);
    await done(server, c);
  });

  test("retryable.ts searches wider until enough ids of 3+ characters are left", async () => {
    const { server, c } = await serve("retryable.ts");
    // the two nearest have short ids; the long ones are farther away
    for (const [id, x] of [["a", 1], ["b", 2], ["cc", 3], ["ddd", 4], ["eeee", 5]] as const) await c.insert(id, at(x));
    expect((await c.search(at(0), 2)).map((h) => h.id)).toEqual(["ddd", "eeee"]);
    await done(server, c);
  });

  test("reverse-id.ts spells result ids backwards", async () => {
    const { server, c } = await serve("reverse-id.ts");
    await c.insert("abc", at(1));
    await c.insert("xyz", at(2));
    expect((await c.search(at(0), 2)).map((h) => h.id)).toEqual(["cba", "zyx"]);
    await done(server, c);
  });

  test("sort.ts answers farthest first", async () => {
    const { server, c } = await serve("sort.ts");
    for (const x of [1, 2, 3]) await c.insert(`s${x}`, at(x));
    expect((await c.search(at(0), 3)).map((h) => h.id)).toEqual(["s3", "s2", "s1"]);
    await done(server, c);
  });

  test("variable-filtering.ts reads the threshold from egressFilters.targets[0].host", async () => {
    const { server, c } = await serve("variable-filtering.ts");
    for (const x of [1, 2, 3, 4]) await c.insert(`v${x}`, at(x));
    const all = await c.search(at(0), 4);
    const threshold = (all[1]!.distance + all[2]!.distance) / 2;
    expect((await c.search(at(0), 4, { egressHost: JSON.stringify({ threshold }) })).map((h) => h.id)).toEqual(["v1", "v2"]);
    expect(await c.search(at(0), 4)).toEqual(all);
    const bad = await failure(c.search(at(0), 4, { egressHost: "ten" }));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toContain("egress filter host is not JSON");
    await done(server, c);
  });

  test("timestamping.ts: a vector inserted with expireInSeconds goes, the others stay", async () => {
    const { server, c } = await serve("timestamping.ts", ["--check-index-interval=100ms"]);
    await c.insert("keep", at(1));
    await c.insert("brief", at(2), { filterHost: JSON.stringify({ expireInSeconds: 1 }) });
    expect(await c.exists("brief")).toBe(true);
    await eventually("brief expired", async () => !(await c.exists("brief")));
    expect(await c.exists("keep")).toBe(true);
    expect(server.output()).toContain("expired vectors removed");
    await done(server, c);
  });

  test("vectorizer.ts serves the Filter service: InsertObject and SearchObject", async () => {
    const { server, c } = await serve("vectorizer.ts", ["--dimension=64"]);
    const text = (s: string) => new TextEncoder().encode(s);
    await c.insertObject("cat", text("the cat sat on the mat"));
    await c.insertObject("stock", text("shares fell sharply on the exchange"));
    expect((await c.searchObject(text("a cat on a mat"), 1))[0]!.id).toBe("cat");
    expect((await c.searchObject(text("the exchange and its shares"), 1))[0]!.id).toBe("stock");
    await done(server, c);
  });
});
