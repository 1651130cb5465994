// Request limits on a real server with small limits, each refusal with its status and
// nothing half-applied; and the tunnel's own limits (--max-agents, garbage frames).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as http2 from "node:http2";
import { Index } from "../../src/gen/vald/v1/index_pb";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { Object$ } from "../../src/gen/vald/v1/object_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { AGENT_NAME_HEADER } from "../../src/tunnel/hello";
import { startAgent, startServer, waitForAgents, type ServerProc } from "../lib/cluster";

setDefaultTimeout(60_000);

let server: ServerProc;
const dim = 4;
const vec = (i: number) => [i, i % 3, 1, -i];

const codeOf = (p: Promise<unknown>) => p.then(
  () => "ok" as const,
  (e: unknown) => ConnectError.from(e).code,
);

beforeAll(async () => {
  server = await startServer({
    dimension: dim,
    extra: ["--max-batch=5", "--max-id-length=16", "--max-message-size=64KiB", "--max-search-num=100", "--max-in-flight=3", "--max-concurrent-streams=8"],
  });
});

afterAll(async () => {
  await server?.stop();
});

/** gRPC over HTTP/2 to a port: unary calls take the fast path, streams Connect's */
const grpcAt = (port: number) => createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` });

describe("on the gateway and on the agent's own port", () => {
  for (const where of ["gateway", "agent"] as const) {
    const port = () => (where === "gateway" ? server.grpcPort : server.agentPort);

    test(`${where}: Search.Config.num above what is stored answers what exists; above --max-search-num is INVALID_ARGUMENT`, async () => {
      const insert = createClient(Insert, grpcAt(port()));
      for (let i = 0; i < 3; i++) await insert.insert({ vector: { id: `${where}-n${i}`, vector: vec(i) } }).catch(() => undefined);
      const search = createClient(Search, grpcAt(port()));
      const res = await search.search({ vector: vec(1), config: { num: 100 } });
      expect(res.results.length).toBeGreaterThanOrEqual(3);
      expect(res.results.length).toBeLessThanOrEqual(100);
      // the issue's own example: a billion results asked of a small index
      expect(await codeOf(search.search({ vector: vec(1), config: { num: 1_000_000_000 } }))).toBe(Code.InvalidArgument);
      expect(await codeOf(search.search({ vector: vec(1), config: { num: 101 } }))).toBe(Code.InvalidArgument);
      // a breadth beyond what the index takes is clamped, not INTERNAL
      expect(await codeOf(search.search({ vector: vec(1), config: { num: 2, edgeSize: 2_000_000_000 } }))).toBe("ok");
      expect(await codeOf(search.search({ vector: vec(1), config: { num: 2, epsilon: 1e30 } }))).toBe("ok");
    });

    test(`${where}: a Multi* request over --max-batch is INVALID_ARGUMENT and applies nothing`, async () => {
      const insert = createClient(Insert, grpcAt(port()));
      const objects = createClient(Object$, grpcAt(port()));
      const reqs = Array.from({ length: 6 }, (_, i) => ({ vector: { id: `${where}-b${i}`, vector: vec(i) } }));
      expect(await codeOf(insert.multiInsert({ requests: reqs }))).toBe(Code.InvalidArgument);
      for (const r of reqs) expect(await codeOf(objects.exists({ id: r.vector.id }))).toBe(Code.NotFound);
      // at the limit it goes through
      expect(await codeOf(insert.multiInsert({ requests: reqs.slice(0, 5) }))).toBe("ok");
      for (const r of reqs.slice(0, 5)) expect(await codeOf(objects.exists({ id: r.vector.id }))).toBe("ok");
      const search = createClient(Search, grpcAt(port()));
      const queries = Array.from({ length: 6 }, () => ({ vector: vec(0), config: { num: 1 } }));
      expect(await codeOf(search.multiSearch({ requests: queries }))).toBe(Code.InvalidArgument);
    });

    test(`${where}: ids longer than --max-id-length (UTF-8 bytes) are INVALID_ARGUMENT`, async () => {
      const insert = createClient(Insert, grpcAt(port()));
      expect(await codeOf(insert.insert({ vector: { id: `${where[0]}`.padEnd(16, "x"), vector: vec(1) } }))).toBe("ok");
      expect(await codeOf(insert.insert({ vector: { id: "y".repeat(17), vector: vec(1) } }))).toBe(Code.InvalidArgument);
      // six 3-byte characters are 18 bytes
      expect(await codeOf(insert.insert({ vector: { id: "日本語日本語", vector: vec(1) } }))).toBe(Code.InvalidArgument);
      expect(await codeOf(createClient(Object$, grpcAt(port())).exists({ id: "z".repeat(1 << 20) }))).not.toBe(Code.Internal);
    });

    test(`${where}: a message over --max-message-size is RESOURCE_EXHAUSTED, unary and streamed`, async () => {
      const big = Array.from({ length: 5 }, (_, i) => ({ vector: { id: `${where}-big${i}`, vector: Array.from({ length: 4000 }, () => 1) } }));
      const insert = createClient(Insert, grpcAt(port()));
      expect(await codeOf(insert.multiInsert({ requests: big }))).toBe(Code.ResourceExhausted);
      const streamed = (async function* () {
        yield { vector: { id: `${where}-big0`, vector: Array.from({ length: 20_000 }, () => 1) } };
      })();
      const stream = codeOf((async () => {
        for await (const _ of insert.streamInsert(streamed)) void _;
      })());
      expect(await stream).toBe(Code.ResourceExhausted);
      expect(await codeOf(createClient(Object$, grpcAt(port())).exists({ id: `${where}-big0` }))).toBe(Code.NotFound);
    });
  }
});

test("over --max-in-flight: RESOURCE_EXHAUSTED at once, not a stall; capacity comes back", async () => {
  const search = createClient(Search, grpcAt(server.grpcPort));
  const held: AbortController[] = [];
  const open: Promise<unknown>[] = [];
  // three open StreamSearch calls fill the port's three slots
  for (let i = 0; i < 3; i++) {
    const ac = new AbortController();
    held.push(ac);
    let first!: () => void;
    const answered = new Promise<void>((r) => (first = r));
    const reqs = (async function* () {
      yield { vector: vec(1), config: { num: 1 } };
      await new Promise((r) => ac.signal.addEventListener("abort", r));
    })();
    open.push(
      (async () => {
        for await (const _ of search.streamSearch(reqs, { signal: ac.signal })) first();
      })().catch(() => undefined),
    );
    await answered;
  }
  expect(await codeOf(search.search({ vector: vec(1), config: { num: 1 } }))).toBe(Code.ResourceExhausted);
  expect(await codeOf(createClient(Index, grpcAt(server.grpcPort)).indexInfo({}))).toBe(Code.ResourceExhausted);
  for (const ac of held) ac.abort();
  await Promise.all(open);
  let code: Code | "ok" = Code.ResourceExhausted;
  while (code === Code.ResourceExhausted) code = await codeOf(search.search({ vector: vec(1), config: { num: 1 } }));
  expect(code).toBe("ok");
});

test("--max-concurrent-streams is what the gateway advertises to HTTP/2 clients", async () => {
  const session = http2.connect(`http://127.0.0.1:${server.grpcPort}`);
  await new Promise<void>((resolve) => session.once("remoteSettings", () => resolve()));
  expect(session.remoteSettings.maxConcurrentStreams).toBe(8);
  session.close();
});

describe("tunnel limits", () => {
  let lone: ServerProc;
  beforeAll(async () => {
    lone = await startServer({ dimension: dim, embeddedAgent: false, token: "tok", extra: ["--max-agents=1"] });
  });
  afterAll(async () => {
    await lone?.stop();
  });

  test("--max-agents: the next agent is refused and retries; the first one keeps serving", async () => {
    const first = await startAgent({ servers: [lone.wsPort], name: "first", dimension: dim, token: "tok" });
    const second = await startAgent({ servers: [lone.wsPort], name: "second", dimension: dim, token: "tok" });
    try {
      await waitForAgents(lone, ["first"]);
      while (!/agent refused: too many agents connected .*agent=second/.test(lone.logs())) await Bun.sleep(50);
      while (!/server full/.test(second.logs())) await Bun.sleep(50);
      await waitForAgents(lone, ["first"]);
      // the first leaves: the waiting one gets in on its next try
      await first.stop();
      await waitForAgents(lone, ["second"], 30_000);
    } finally {
      await first.stop();
      await second.stop();
    }
  });
});

test("an agent that sends garbage frames is disconnected; the server keeps serving", async () => {
  const rogue = new WebSocket(`ws://127.0.0.1:${server.wsPort}/connect`, { headers: { [AGENT_NAME_HEADER]: "rogue" } });
  const closed = new Promise<number>((resolve) => (rogue.onclose = (e) => resolve(e.code)));
  await new Promise((r) => (rogue.onopen = r));
  rogue.send(new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 0xff, 0xff]));
  rogue.send(crypto.getRandomValues(new Uint8Array(4096)));
  expect(await closed).toBe(1002);
  while (!/bad frame from agent "rogue"|agent disconnected .*agent=rogue/.test(server.logs())) await Bun.sleep(20);
  await createClient(Insert, grpcAt(server.grpcPort)).insert({ vector: { id: "after-rogue", vector: vec(3) } });
  const hit = await createClient(Search, grpcAt(server.grpcPort)).search({ vector: vec(3), config: { num: 1 } });
  expect(hit.results[0]?.id).toBe("after-rogue");
});
