// The client commands against a real server: the README's valdcli-style quick start
// (rand-vecs | stream-insert), stream-search, the unary commands and index/flush, with
// their outputs, exit codes and one-line errors; then API keys and TLS.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Index } from "../../src/gen/vald/v1/index_pb";
import { Object$ } from "../../src/gen/vald/v1/object_pb";
import { makePki, type TestPki } from "../lib/certs";
import { startServer, type ServerProc } from "../lib/cluster";
import { freePort } from "../lib/ports";
import { cleanEnv, cli, held, sameBits, shell } from "./lib";

setDefaultTimeout(60_000);

let server: ServerProc;
beforeAll(async () => {
  server = await startServer({ dimension: 784 });
});
afterAll(async () => {
  await server?.stop();
});

const at = () => ["-h", "127.0.0.1", "-p", String(server.grpcPort)];

describe("valdcli-style pipeline", () => {
  test("rand-vecs -d 784 -n 100 --with-ids | stream-insert: every line is stored as printed", async () => {
    const file = `${process.env.TMPDIR ?? "/tmp"}/alvd-cli-vecs-${process.pid}.jsonl`;
    const r = await shell(`alvd rand-vecs -d 784 -n 100 --with-ids | tee ${file} | alvd stream-insert -h 127.0.0.1 -p ${server.grpcPort}`);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^inserted 100 vectors in [\d.]+ s \([\d,]+\/s\), 0 failed\n$/);
    const lines = (await Bun.file(file).text()).trim().split("\n").map((l) => JSON.parse(l) as { id: string; vector: number[] });
    expect(lines).toHaveLength(100);
    expect(new Set(lines.map((l) => l.id)).size).toBe(100);
    expect(await held(server.client(Index))).toBe(100);
    const object = server.client(Object$);
    for (const l of lines.slice(0, 10)) {
      expect(l.vector).toHaveLength(784);
      const got = await object.getObject({ id: { id: l.id } });
      expect(sameBits(got.vector, l.vector)).toBe(true);
    }
    // stream-search: each query finds itself first
    const s = await cli(["stream-search", ...at(), "-n", "3"], { stdin: lines.slice(0, 20).map((l) => JSON.stringify(l)).join("\n") + "\n" });
    expect(s.code).toBe(0);
    const answers = s.stdout.trim().split("\n").map((l) => JSON.parse(l) as { query: string; results: { id: string; distance: number }[] });
    expect(answers).toHaveLength(20);
    for (const [i, a] of answers.entries()) {
      expect(a.query).toBe(lines[i]!.id);
      expect(a.results).toHaveLength(3);
      expect(a.results[0]).toEqual({ id: lines[i]!.id, distance: 0 });
    }
    expect(s.stderr).toContain("stream-search: 20 queries answered, 0 failed");
    // the same lines again: every one is refused and named, exit 1
    const again = await cli(["stream-insert", ...at()], { stdin: (await Bun.file(file).text()).split("\n").slice(0, 3).join("\n") });
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/^inserted 0 vectors .* 3 failed\n$/);
    expect(again.stderr).toContain(`alvd stream-insert: line 1, id ${JSON.stringify(lines[0]!.id)}: ALREADY_EXISTS`);
    expect(again.stderr.trim().split("\n")).toHaveLength(3);
  });

  test("a reader that goes away (| head) ends rand-vecs and stream-search at once, exit 0", async () => {
    const r = await shell(`alvd rand-vecs -d 784 -n 100000000 | head -n 2 | wc -l`);
    expect(r).toMatchObject({ code: 0, stdout: "2\n", stderr: "" });
    const s = await shell(`alvd rand-vecs -d 784 -n 3000 | alvd stream-search ${at().join(" ")} -n 1 --progress none | head -n 1 | wc -l`);
    expect(s.code).toBe(0);
    expect(s.stdout).toBe("1\n");
  });

  test("bad lines are reported with their line numbers; the good ones are stored; exit 1", async () => {
    const good = (id: string) => JSON.stringify({ id, vector: Array.from({ length: 784 }, (_, i) => i / 784) });
    const input = [good("ok-1"), "{not json", JSON.stringify({ id: "short", vector: [1, 2, 3] }), JSON.stringify({ vector: [1, 2] }), "", good("ok-2")].join("\n");
    const r = await cli(["stream-insert", ...at(), "--json"], { stdin: input });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ inserted: 2, failed: 3, complete: false });
    expect(r.stderr).toContain("line 2: not JSON");
    expect(r.stderr).toMatch(/line 3, id "short": INVALID_ARGUMENT: .*dimension/i);
    expect(r.stderr).toContain('line 4: no "id"');
    const e = await cli(["exists", ...at(), "ok-2"]);
    expect(e.code).toBe(0);
  });
});

describe("unary commands", () => {
  const vec = Array.from({ length: 784 }, (_, i) => Math.fround(Math.sin(i + 1)));

  test("insert, get, exists, search (vector and --id), upsert, remove", async () => {
    const ins = await cli(["insert", ...at(), "u-1", JSON.stringify(vec)]);
    expect(ins).toMatchObject({ code: 0, stderr: "" });
    expect(ins.stdout).toStartWith('inserted "u-1"');
    const dup = await cli(["insert", ...at(), "u-1", JSON.stringify(vec)]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/^alvd insert: ALREADY_EXISTS: .*u-1.*\n$/);

    const get = await cli(["get", ...at(), "u-1", "--json"]);
    expect(get.code).toBe(0);
    const obj = JSON.parse(get.stdout) as { id: string; vector: number[]; timestamp: string };
    expect(obj.id).toBe("u-1");
    expect(sameBits(obj.vector, vec)).toBe(true);
    expect(BigInt(obj.timestamp)).toBeGreaterThan(0n);
    const text = await cli(["get", ...at(), "u-1"]);
    expect(text.stdout).toContain(`timestamp: ${obj.timestamp} (`);

    expect((await cli(["exists", ...at(), "u-1"])).code).toBe(0);
    const missing = await cli(["exists", ...at(), "no-such-id", "--json"]);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toEqual({ id: "no-such-id", exists: false });

    const byVec = await cli(["search", ...at(), "-n", "2", JSON.stringify(vec)]);
    expect(byVec.code).toBe(0);
    expect(byVec.stdout.split("\n")[1]).toMatch(/^ {3}1 {2}u-1 +0$/);
    const byId = await cli(["search", ...at(), "--id", "u-1", "-n", "1", "--json"]);
    expect(JSON.parse(byId.stdout).results).toEqual([{ id: "u-1", distance: 0 }]);
    const fromStdin = await cli(["search", ...at(), "-n", "1", "--json"], { stdin: JSON.stringify(vec) + "\n" });
    expect(JSON.parse(fromStdin.stdout).results[0].id).toBe("u-1");

    const up = await cli(["upsert", ...at(), "u-1"], { stdin: JSON.stringify({ vector: vec.map((x) => -x) }) });
    expect(up.code).toBe(0);
    expect(JSON.parse((await cli(["get", ...at(), "u-1", "--json"])).stdout).vector[0]).toBe(-vec[0]!);

    const rm = await cli(["remove", ...at(), "u-1", "never-there"]);
    expect(rm.code).toBe(1);
    expect(rm.stdout).toBe('removed "u-1"\n');
    expect(rm.stderr).toMatch(/^alvd remove: "never-there": NOT_FOUND: .*\n$/);
  });

  test("usage mistakes exit 2 with one line naming the flag or argument", async () => {
    const cases: [string[], RegExp][] = [
      [["search", ...at(), "-n", "zero"], /^alvd: --num: expected an integer/],
      [["insert", ...at(), "x", "[1,2,oops]"], /^alvd insert: VECTOR is not JSON/],
      [["get", ...at()], /^alvd get: alvd get takes one ID/],
      [["load", "-p", "notaport", "f.fvecs"], /^alvd: --port: expected a port number/],
      [["stream-insert", "--bogus"], /^alvd: unknown flag --bogus for alvd stream-insert/],
      [["index", ...at(), "rebuild"], /^alvd index: alvd index takes one of info, detail, create, save/],
      [["search", ...at(), "--id", "x", "[1,2]"], /VECTOR or --id, not both/],
    ];
    for (const [args, want] of cases) {
      const r = await cli(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(want);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  test("--help shows the command's flags; -h is the host", async () => {
    const r = await cli(["stream-insert", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: alvd stream-insert");
    expect(r.stdout).toMatch(/-h, --host +server \(or agent\) to call \(default localhost\) \[ALVD_HOST\]/);
    expect(r.stdout).toContain("--api-key");
    const top = await cli(["--help"]);
    expect(top.stdout).toContain("alvd rand-vecs");
    expect(top.stdout).toContain("alvd load FILE");
  });

  test("a server that is not there: one line naming the address, exit 1", async () => {
    const port = await freePort();
    const r = await cli(["index", "info", "-h", "127.0.0.1", "-p", String(port)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`alvd index: cannot reach 127.0.0.1:${port}: connection refused (is alvd or Vald listening there? check -h/--host and -p/--port)\n`);
  });
});

describe("index and flush", () => {
  test("index info|detail|create|save, flush asks for --yes off a terminal", async () => {
    const info = await cli(["index", "info", ...at(), "--json"]);
    expect(info.code).toBe(0);
    const counts = JSON.parse(info.stdout) as { stored: number; uncommitted: number };
    const before = counts.stored + counts.uncommitted;
    expect(before).toBeGreaterThan(0);
    const detail = await cli(["index", "detail", ...at()]);
    expect(detail.stdout).toMatch(/^1 agents \(1 live\), replicas \d+\n {2}\S+ {2}stored [\d,]+/);
    expect((await cli(["index", "create", ...at()])).stdout).toMatch(/^index built in [\d.]+ s\n$/);
    expect((await cli(["index", "save", ...at(), "--json"])).stdout).toMatch(/^\{"done":"save","seconds":[\d.]+\}\n$/);
    expect((await server.client(Index).indexInfo({})).uncommitted).toBe(0); // CreateIndex committed them

    const refused = await cli(["flush", ...at()]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("add --yes to confirm");
    const env = await cli(["flush", ...at()], { env: cleanEnv({ ALVD_YES: "true" }) });
    expect(env.code).toBe(2); // --yes is never read from the environment
    expect(await held(server.client(Index))).toBe(before);
    const done = await cli(["flush", ...at(), "--yes", "--json"]);
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ stored: 0, uncommitted: 0 });
    expect(await held(server.client(Index))).toBe(0);
  });
});

describe("API keys and TLS", () => {
  let pki: TestPki;
  let secure: ServerProc;
  const KEY = "cli-rw-key-0123456789abcdef";
  beforeAll(async () => {
    pki = makePki("alvd-cli-pki-");
    const cert = pki.issue("server", "localhost");
    secure = await startServer({
      dimension: 4,
      token: "cli-join-token",
      tlsCa: pki.ca,
      extra: [`--api-key=${KEY}`, `--tls-cert-file=${cert.certFile}`, `--tls-key-file=${cert.keyFile}`],
    });
  });
  afterAll(async () => {
    await secure?.stop();
    pki?.cleanup();
  });
  const sat = () => ["-h", "localhost", "-p", String(secure.grpcPort)];

  test("--tls-ca-file and --api-key (or ALVD_API_KEY) get in; each missing piece says what to add", async () => {
    const ok = await cli(["insert", ...sat(), "--tls-ca-file", pki.caFile, "--api-key", KEY, "k-1", "[1,2,3,4]"]);
    expect(ok).toMatchObject({ code: 0, stderr: "" });
    const viaEnv = await cli(["exists", ...sat(), "k-1"], { env: cleanEnv({ ALVD_API_KEY: KEY, ALVD_TLS_CA_FILE: pki.caFile }) });
    expect(viaEnv.code).toBe(0);

    const noKey = await cli(["exists", ...sat(), "--tls-ca-file", pki.caFile, "k-1"]);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(/^alvd exists: localhost:\d+ wants an API key: pass --api-key or set ALVD_API_KEY/);
    expect(noKey.stderr).not.toContain(KEY);
    const wrong = await cli(["exists", ...sat(), "--tls-ca-file", pki.caFile, "--api-key", "not-the-key", "k-1"]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^alvd exists: localhost:\d+ refused the API key: check --api-key or ALVD_API_KEY/);
    expect(wrong.stderr).not.toContain("not-the-key");

    const noCa = await cli(["exists", ...sat(), "--tls", "--api-key", KEY, "k-1"]);
    expect(noCa.code).toBe(1);
    expect(noCa.stderr).toContain("--tls-ca-file");

    const plain = await cli(["exists", ...sat(), "--api-key", KEY, "k-1"]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain("use --tls");
    expect(plain.stderr.trim().split("\n")).toHaveLength(1);
  });
});
