// alvd export / import on a real two-agent cluster (replicas 2): export → Flush →
// import keeps every id, vector and timestamp bit for bit (checked with GetObject);
// a rerun is harmless; export | import streams through a pipe into another server;
// and files that are corrupt, cut short or from a newer format are refused.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Index } from "../../src/gen/vald/v1/index_pb";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { Object$ } from "../../src/gen/vald/v1/object_pb";
import { startAgent, startServer, waitForAgents, type AgentProc, type ServerProc } from "../lib/cluster";
import { freePort } from "../lib/ports";
import { cli, f32Vectors, held, sameBits, shell } from "./lib";

setDefaultTimeout(90_000);

const D = 784;
const N = 400;
let server: ServerProc;
let agent: AgentProc;
let other: ServerProc;
let dir: string;

interface Item {
  id: string;
  vector: Float32Array;
  timestamp: bigint;
}
let items: Item[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "alvd-archive-"));
  server = await startServer({ dimension: D, token: "archive-token", extra: ["--replicas=2", "--name=archive-server"] });
  agent = await startAgent({ servers: [server.wsPort], name: "archive-agent", dimension: D, token: "archive-token" });
  await waitForAgents(server, ["archive-server", "archive-agent"]);
  other = await startServer({ dimension: D });
  // vectors with the awkward bits too: -0, the smallest denormal, the largest float
  const vectors = f32Vectors(N, D, 99);
  vectors[0]!.set([-0, 1e-45, 3.4028234663852886e38, -1.1754943508222875e-38]);
  items = vectors.map((vector, i) => ({
    id: i % 50 === 0 ? `ünï-${i}-${"x".repeat(200)}` : `e-${i}`,
    vector,
    // from 1 ns to ~2^62 ns: timestamps that are not "now"
    timestamp: i === 1 ? 1n : BigInt(i) * 11_529_215_046_068_469n + 7n,
  }));
  // binary protobuf (JSON would turn -0 into 0), with each item's own timestamp
  const insert = server.client(Insert);
  for (let i = 0; i < N; i += 100) {
    const requests = items.slice(i, i + 100).map((it) => ({ vector: { id: it.id, vector: Array.from(it.vector) }, config: { timestamp: it.timestamp } }));
    await insert.multiInsert({ requests });
  }
});
afterAll(async () => {
  await agent?.stop();
  await server?.stop();
  await other?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const at = (s = server) => ["-h", "127.0.0.1", "-p", String(s.grpcPort)];

async function expectAll(s: ServerProc): Promise<void> {
  const object = s.client(Object$);
  const got = await Promise.all(items.map((it) => object.getObject({ id: { id: it.id } })));
  for (const [i, g] of got.entries()) {
    const want = items[i]!;
    if (!sameBits(g.vector, want.vector) || g.timestamp !== want.timestamp) throw new Error(`${want.id}: vector or timestamp (${g.timestamp} vs ${want.timestamp}) differs`);
  }
}

describe("export → Flush → import", () => {
  const file = () => join(dir, "cluster.alvdexp");

  test("every id, vector and timestamp comes back bit for bit", async () => {
    await expectAll(server);
    const ex = await cli(["export", ...at(), "--out", file()]);
    expect(ex.stderr).toBe("");
    expect(ex.code).toBe(0);
    expect(ex.stdout).toMatch(new RegExp(`^exported ${N} vectors to .*cluster\\.alvdexp \\([\\d.]+ MB\\) in [\\d.]+ s`));
    expect(existsSync(`${file()}.partial`)).toBe(false);

    const check = await cli(["import", file(), "--dry-run", "--json"]);
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ records: N, dimensions: [D], verified: true, meta: { kind: "vectors" } });
    expect(JSON.parse(check.stdout).blocks).toBeGreaterThan(1);

    expect((await cli(["flush", ...at(), "--yes"])).code).toBe(0);
    expect(await held(server.client(Index))).toBe(0);

    const im = await cli(["import", file(), ...at(), "--json"]);
    expect(im.stderr).toBe("");
    expect(im.code).toBe(0);
    expect(JSON.parse(im.stdout)).toMatchObject({ imported: N, failed: 0, alreadyPresent: 0, complete: true });
    await expectAll(server);
    // two replicas of each
    expect(await held(server.client(Index))).toBe(2 * N);
  });

  test("running the same import again changes nothing and succeeds", async () => {
    const again = await cli(["import", file(), ...at()]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`^imported ${N} vectors \\(${N} already there\\)`));
    expect(await held(server.client(Index))).toBe(2 * N);
  });

  test("export --out - | import -: a pipe into another server", async () => {
    const r = await shell(`alvd export ${at().join(" ")} --out - | alvd import - ${at(other).join(" ")}`);
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith(`imported ${N} vectors`);
    expect(r.stderr).toContain(`exported ${N} vectors to stdout`);
    await expectAll(other);
  });
});

describe("damaged export files", () => {
  const good = () => readFileSync(join(dir, "cluster.alvdexp"));

  test("a flipped byte in a block: refused before any record of that block is sent", async () => {
    const bytes = Buffer.from(good());
    const headerEnd = 16 + bytes.readUInt32LE(12) + 4;
    bytes[headerEnd + 9 + 100]! ^= 0x01; // inside the first record of block 1
    const bad = join(dir, "flipped.alvdexp");
    writeFileSync(bad, bytes);
    const target = await startServer({ dimension: D });
    try {
      const r = await cli(["import", bad, ...at(target)]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("block 1 checksum mismatch");
      expect(await held(target.client(Index))).toBe(0);
    } finally {
      await target.stop();
    }
  });

  test("cut short, a newer version, not an export, a spliced block: one line each, exit 1", async () => {
    const bytes = good();
    const cut = join(dir, "cut.alvdexp");
    writeFileSync(cut, bytes.subarray(0, bytes.length - 20));
    const noTrailer = join(dir, "no-trailer.alvdexp");
    writeFileSync(noTrailer, bytes.subarray(0, bytes.length - 53));
    const newer = join(dir, "newer.alvdexp");
    const nb = Buffer.from(bytes);
    nb.writeUInt32LE(2, 8);
    writeFileSync(newer, nb);
    const notOne = join(dir, "not.alvdexp");
    writeFileSync(notOne, "hello\n");
    // the first block twice: every block checks out, the whole-file digest does not
    const headerEnd = 16 + bytes.readUInt32LE(12) + 4;
    const firstLen = 9 + bytes.readUInt32LE(headerEnd + 5) + 4;
    const spliced = join(dir, "spliced.alvdexp");
    writeFileSync(spliced, Buffer.concat([bytes.subarray(0, headerEnd + firstLen), bytes.subarray(headerEnd)]));
    const cases: [string, RegExp][] = [
      [cut, /truncated/],
      [noTrailer, /ends before the trailer \(an export that did not finish\?\)/],
      [newer, /export format version 2 is newer than this alvd reads \(1\)/],
      [notOne, /not an alvd export file/],
      [spliced, /the trailer counts \d+ records in \d+ blocks, the file holds/],
    ];
    for (const [path, want] of cases) {
      const r = await cli(["import", path, "--dry-run"]);
      expect({ path, code: r.code }).toEqual({ path, code: 1 });
      expect(r.stderr).toMatch(want);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  test("an export that cannot finish leaves no file behind", async () => {
    const out = join(dir, "never.alvdexp");
    const r = await cli(["export", "-h", "127.0.0.1", "-p", String(await freePort()), "--out", out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("connection refused");
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });
});
