// Fuzz: bounded, seeded bad input against a real server (embedded agent) and a real
// tunnelled agent, through every protocol the ports speak: gRPC over HTTP/2 (unary,
// client, server and bidi streams), gRPC-web, Connect binary and JSON, and raw
// websocket frames at the tunnel. Every input must get a proper status: never UNKNOWN,
// INTERNAL, UNAVAILABLE or DATA_LOSS, never silence. Neither process may die, memory
// must stay bounded, and the vectors written before the run must be intact after it.
//
// Reproduce a failure with ALVD_FUZZ_SEED=<seed printed in the failure>.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { create, toBinary, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { readFileSync } from "node:fs";
import { Agent } from "../../src/gen/core/v1/agent_pb";
import { Filter } from "../../src/gen/vald/v1/filter_pb";
import { Flush } from "../../src/gen/vald/v1/flush_pb";
import { Index } from "../../src/gen/vald/v1/index_pb";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { Object$ } from "../../src/gen/vald/v1/object_pb";
import { Remove } from "../../src/gen/vald/v1/remove_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { Update } from "../../src/gen/vald/v1/update_pb";
import { Upsert } from "../../src/gen/vald/v1/upsert_pb";
import { Search_RequestSchema } from "../../src/gen/payload/v1/payload_pb";
import { encodeFrame, FrameType } from "../../src/tunnel/frames";
import { AGENT_NAME_HEADER } from "../../src/tunnel/hello";
import { startAgent, startServer, waitForAgents, type AgentProc, type ServerProc } from "../lib/cluster";
import { badJson, badTimeout, concat, envelope, envelopedBody, mutate, randomMessage } from "./inputs";
import { connectUnary, grpcWeb, H2Road, type Answer } from "./roads";
import { rng, type Rng } from "./rng";

setDefaultTimeout(120_000);

const SEED = Number(process.env.ALVD_FUZZ_SEED ?? 20261201);
const CALLS = 2000;
const WS_INPUTS = 120;
const CANCELLED = 300;
const DIM = 8;
const KEEP = 60;
const RW = "fuzz-rw-key-0123456789";
const RO = "fuzz-ro-key-0123456789";
const TOKEN = "fuzz-token";
const SERVICES: DescService[] = [Insert, Update, Upsert, Remove, Search, Object$, Index, Flush, Filter, Agent];
/** statuses that would blame the server for the client's input, or say nothing */
const FORBIDDEN = new Set<Code>([Code.Unknown, Code.Internal, Code.Unavailable, Code.DataLoss]);
/** inputs with a valid key may be valid requests; these would wipe the vectors we check */
const WIPES = new Set(["Flush", "RemoveByTimestamp"]);

let server: ServerProc;
let agent: AgentProc;
let kept: Map<string, { vector: number[]; timestamp: bigint }>;
const failures: string[] = [];
let judged = 0;

const auth = (key: string | undefined): Record<string, string> => (key ? { authorization: `Bearer ${key}` } : {});

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0) * 1024;
}

function judge(what: string, a: Answer): void {
  judged++;
  const bad = a.code === undefined || FORBIDDEN.has(a.code) ? `status ${a.code}` : a.items.find((c) => FORBIDDEN.has(c)) !== undefined ? `item status ${a.items.find((c) => FORBIDDEN.has(c))}` : undefined;
  if (bad !== undefined && failures.length < 20) failures.push(`${what}: ${bad} (${a.detail})`);
}

beforeAll(async () => {
  const keys = [`--api-key=${RW}`, `--read-only-api-key=${RO}`];
  const limits = ["--max-message-size=4MiB", "--max-in-flight=64", "--max-batch=1000"];
  server = await startServer({ dimension: DIM, token: TOKEN, extra: [...keys, ...limits, "--replicas=2", "--create-index-threshold=50"] });
  agent = await startAgent({ servers: [server.wsPort], name: "fuzz-agent", dimension: DIM, token: TOKEN, extra: [...keys, ...limits, "--create-index-threshold=50"] });
  const embedded = /agent=(agent-[0-9a-f]+)/.exec(server.logs())![1]!;
  await waitForAgents(server, [embedded, "fuzz-agent"], 20_000, RW);
  const r = rng(SEED ^ 0x5eed);
  const requests = Array.from({ length: KEEP }, (_, i) => ({ vector: { id: `keep-${i}`, vector: Array.from({ length: DIM }, () => r.next()) } }));
  await server.client(Insert, RW).multiInsert({ requests });
  kept = new Map();
  for (const { vector } of requests) {
    const got = await server.client(Object$, RW).getObject({ id: { id: vector.id } });
    kept.set(vector.id, { vector: got.vector, timestamp: got.timestamp });
  }
});

afterAll(async () => {
  await agent?.stop();
  await server?.stop();
});

interface Target {
  name: string;
  base: string;
  h2: H2Road;
}

function pickKey(r: Rng, method: DescMethod): string | undefined {
  if (WIPES.has(method.name)) return r.pick([RO, undefined, "not-a-key"]);
  return r.bool(0.85) ? RW : r.pick([RO, undefined, "not-a-key"]);
}

async function one(r: Rng, t: Target, i: number): Promise<void> {
  const service = r.pick(SERVICES);
  const method = r.pick(service.methods);
  const key = pickKey(r, method);
  const message = () => (r.bool(0.6) ? randomMessage(r, method.input, DIM) : mutate(r, randomMessage(r, method.input, DIM)));
  const timeout = r.bool(0.3) ? badTimeout(r) : undefined;
  const headers = { ...auth(key), ...(timeout !== undefined ? { "grpc-timeout": timeout } : {}) };
  const what = `#${i} ${t.name} ${method.parent.name}/${method.name}`;
  const unaryish = method.methodKind === "unary" || method.methodKind === "server_streaming";
  const road = unaryish ? r.pick(["grpc", "grpc", "grpc-web", "connect-proto", "connect-json"]) : "grpc";
  try {
    switch (road) {
      case "grpc": {
        const n = method.methodKind === "unary" || method.methodKind === "server_streaming" ? 1 : r.int(1, 4);
        const messages = Array.from({ length: n }, message);
        judge(`${what} grpc`, await t.h2.call(method, [envelopedBody(r, messages)], headers));
        break;
      }
      case "grpc-web":
        judge(`${what} grpc-web`, await grpcWeb(t.base, method, envelopedBody(r, [message()]), headers));
        break;
      case "connect-proto":
        if (method.methodKind !== "unary") return;
        judge(`${what} connect-proto`, await connectUnary(t.base, method, message(), false, auth(key)));
        break;
      default:
        if (method.methodKind !== "unary") return;
        judge(`${what} connect-json`, await connectUnary(t.base, method, badJson(r, method.input, DIM), true, auth(key)));
    }
  } catch (e) {
    failures.push(`${what} ${road}: the call itself failed: ${(e as Error).message}`);
  }
}

test(`${CALLS} generated bad requests across every service, method and protocol get proper statuses`, async () => {
  const targets: Target[] = [
    { name: "gateway", base: server.base, h2: new H2Road(server.base, {}) },
    { name: "agent", base: `http://127.0.0.1:${agent.grpcPort}`, h2: new H2Road(`http://127.0.0.1:${agent.grpcPort}`, {}) },
  ];
  // a few at a time, as clients would send them
  let next = 0;
  const worker = async () => {
    while (next < CALLS) {
      const i = next++;
      // each input from its own seed, so it is the same whatever the interleaving
      await one(rng((SEED + Math.imul(i, 0x9e3779b1)) >>> 0), targets[i % 5 === 4 ? 1 : 0]!, i);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  for (const t of targets) t.h2.close();
  expect(failures, `seed ${SEED}`).toEqual([]);
  expect(judged).toBeGreaterThan(CALLS * 0.9);
});

test("Multi* requests with a million items are refused by --max-batch on every road", async () => {
  // a million empty items: two bytes each on the wire, a million objects once decoded
  const million = new Uint8Array(2_000_000);
  for (let j = 0; j < million.length; j += 2) million[j] = 0x0a; // field 1, length 0
  for (const [port, name] of [[server.grpcPort, "gateway"], [agent.grpcPort, "agent"]] as const) {
    const base = `http://127.0.0.1:${port}`;
    const h2 = new H2Road(base, auth(RW));
    for (const method of [Insert.method.multiInsert, Search.method.multiSearch, Remove.method.multiRemove, Update.method.multiUpdate]) {
      const a = await h2.call(method, [envelope(million)]);
      expect(a.code, `${name} ${method.name}: ${a.detail}`).toBe(Code.InvalidArgument);
      const c = await connectUnary(base, method, million, false, auth(RW));
      expect(c.code, `${name} ${method.name} connect: ${c.detail}`).toBe(Code.InvalidArgument);
    }
    h2.close();
  }
});

test(`a flood of ${CANCELLED} cancelled calls and streams leaves the in-flight budget whole`, async () => {
  const h2 = new H2Road(server.base, auth(RW));
  const search = toBinary(Search_RequestSchema, create(Search_RequestSchema, { vector: Array.from({ length: DIM }, () => 0.5), config: { num: 3 } }));
  const methods = [Search.method.search, Search.method.streamSearch, Insert.method.streamInsert, Object$.method.streamListObject];
  await Promise.all(Array.from({ length: CANCELLED }, (_, i) => h2.cancel(methods[i % methods.length]!, envelope(search))));
  h2.close();
  // --max-in-flight is 64: a leak of even a fifth of the flood would refuse some of these
  const client = createClient(Index, createGrpcTransport({ baseUrl: server.base, interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${RO}`), next(req))] }));
  let settled = false;
  for (let attempt = 0; attempt < 100 && !settled; attempt++) {
    const codes = await Promise.all(Array.from({ length: 50 }, () => client.indexInfo({}).then(() => "ok", (e: { code: Code }) => e.code)));
    settled = codes.every((c) => c === "ok");
    if (!settled) await Bun.sleep(50);
  }
  expect(settled).toBe(true);
});

test(`${WS_INPUTS} bad websocket inputs at the tunnel, with and without the token, are shut out`, async () => {
  const r = rng(SEED + 1);
  const embedded = /agent=(agent-[0-9a-f]+)/.exec(server.logs())![1]!;
  for (let i = 0; i < WS_INPUTS; i++) {
    const token = r.pick([TOKEN, TOKEN, "wrong", undefined]);
    const name = r.pick([`fz-${i}`, `fz-${i}`, "", "bad name!", "x".repeat(300)]);
    const headers: Record<string, string> = { [AGENT_NAME_HEADER]: name, ...(token ? { authorization: `Bearer ${token}` } : {}) };
    const ws = new WebSocket(`ws://127.0.0.1:${server.wsPort}/connect`, { headers });
    const closed = new Promise<number>((resolve) => {
      ws.onclose = (e) => resolve(e.code);
      ws.onerror = () => undefined;
    });
    const opened = await Promise.race([new Promise<boolean>((res) => (ws.onopen = () => res(true))), closed.then(() => false)]);
    if (opened) {
      // malformed: must cost the sender its connection; well-formed frames for streams
      // that do not exist are dropped (they race with resets in real traffic)
      const malformed = [
        () => r.bytes(r.int(1, 9)),
        () => encodeFrame(FrameType.Data, 1, r.bytes(10)).subarray(0, r.int(1, 12)),
        () => concat(encodeFrame(FrameType.Ping, 0, r.bytes(8)), r.bytes(3)),
        () => concat(Uint8Array.of(r.int(9, 255)), r.bytes(20)),
        () => new Uint8Array(17 * 1024 * 1024),
      ];
      const wellFormed = () => encodeFrame(r.pick([1, 2, 3, 4, 5, 6]) as FrameType, r.int(1, 2 ** 32 - 1), r.bytes(r.int(0, 200)), r.int(0, 255));
      let garbage = false;
      for (let k = r.int(1, 3); k > 0 && ws.readyState === WebSocket.OPEN; k--) {
        const kind = r.int(0, 9);
        garbage ||= kind < 7;
        if (kind === 0) ws.send("text is not part of the protocol");
        else if (kind < 7) ws.send(r.pick(malformed)());
        else ws.send(wellFormed());
      }
      const code = await Promise.race([closed, Bun.sleep(garbage ? 2000 : 100).then(() => -1)]);
      if (code === -1) {
        ws.close();
        if (garbage) failures.push(`ws #${i} (token ${token}, name ${JSON.stringify(name).slice(0, 20)}): not disconnected after garbage`);
      }
    }
  }
  // nobody got in and stayed; the two real agents are still there and serving
  await waitForAgents(server, [embedded, "fuzz-agent"], 20_000, RW);
  const hits = await server.client(Search, RO).search({ vector: kept.get("keep-3")!.vector, config: { num: 1 } });
  expect(hits.results[0]?.id).toBe("keep-3");
  expect(failures, `seed ${SEED}`).toEqual([]);
});

test("neither process crashed, memory stayed bounded, and every vector written before is intact", async () => {
  expect(server.proc.exitCode).toBeNull();
  expect(agent.proc.exitCode).toBeNull();
  // what the run cost in memory: a leak per input would show as hundreds of MB here
  for (const [name, pid] of [["server", server.proc.pid], ["agent", agent.proc.pid]] as const) {
    const rss = rssBytes(pid);
    console.log(`fuzz: ${name} RSS ${(rss / 2 ** 20).toFixed(0)} MiB after ${judged} judged inputs (seed ${SEED})`);
    expect(rss).toBeLessThan(1024 ** 3);
  }
  // through the gateway: every id, bit for bit, with its timestamp
  for (const [id, want] of kept) {
    const got = await server.client(Object$, RO).getObject({ id: { id } });
    expect(got.vector).toEqual(want.vector);
    expect(got.timestamp).toBe(want.timestamp);
  }
  // on each agent (--replicas 2): exactly the kept set among the keep- ids
  for (const port of [server.agentPort, agent.grpcPort]) {
    const objects = createClient(Object$, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${RO}`), next(req))] }));
    const ids: string[] = [];
    for await (const item of objects.streamListObject({})) {
      if (item.payload.case === "vector" && item.payload.value.id.startsWith("keep-")) ids.push(item.payload.value.id);
    }
    expect(ids.sort()).toEqual([...kept.keys()].sort());
  }
});
