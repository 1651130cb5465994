// Agents run unary calls arriving through the tunnel in-process (dispatch.ts fast
// path) instead of through Connect's handler; the server sends them without Connect's
// client pipeline (unary.ts). Same answers and codes as the Connect paths; deadlines
// and cancellation on both agent paths are in cancel.test.ts. An agent with the in-process
// path says so in its hello, and then small unary calls travel as one Call frame each
// way; large requests, and agents that did not say so, keep the stream path.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { Search_ConfigSchema, Search_RequestSchema } from "../../src/gen/payload/v1/payload_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import type { DirectTransport } from "../../src/rpc/direct-transport";
import type { AgentSession } from "../../src/tunnel/session";
import { fastUnaryFor, startHarness, type Harness } from "./fixture";

const req = (requestId: string, vector: number[] = [1, 2, 3]) =>
  create(Search_RequestSchema, { vector, config: create(Search_ConfigSchema, { requestId, num: 10 }) });

let h: Harness;
let session: AgentSession;
/** an agent without the in-process path, as one from before Call frames */
let plain: AgentSession;
let fastCalls = 0;

beforeAll(async () => {
  h = await startHarness();
  const counting = (t: DirectTransport): DirectTransport => ({ ...t, unary: (...args) => (fastCalls++, t.unary(...args)) });
  h.dial("f1", { fastUnary: fastUnaryFor("f1", h.seen, counting) });
  h.dial("p1");
  session = await h.watch.session("f1");
  plain = await h.watch.session("p1");
});

afterAll(async () => {
  await h.close();
});


test("unary answers come from the in-process path", async () => {
  const search = createClient(Search, session.transport);
  const before = fastCalls;
  const ids = Array.from({ length: 32 }, (_, i) => `q${i}`);
  const res = await Promise.all(ids.map((id) => search.search(req(id, [0.5, 1, 2]))));
  expect(res.map((r) => r.requestId)).toEqual(ids);
  expect(res[0]?.results[0]).toMatchObject({ id: "dim-3", distance: 0.5 });
  expect(fastCalls - before).toBe(32);
});

test("small unary calls travel as Call frames, and nothing stays open", async () => {
  const search = createClient(Search, session.transport);
  const before = session.stats().framedCalls;
  const res = await Promise.all(Array.from({ length: 20 }, (_, i) => search.search(req(`c${i}`, [i, 1]))));
  expect(res.map((r) => r.results[0]?.distance)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  expect(session.stats().framedCalls - before).toBe(20);
  expect(session.openStreams).toBe(0);
});

test("a reply larger than one frame arrives whole", async () => {
  const before = session.stats().framedCalls;
  const res = await createClient(Search, session.transport).search(req("wide"));
  expect(session.stats().framedCalls - before).toBe(1);
  expect(res.results.length).toBe(5_000);
  expect(res.results[4_999]).toMatchObject({ id: "4999".padStart(100, "w"), distance: 4_999 });
  expect(session.openStreams).toBe(0);
});

test("a reply over the agent's limit is ResourceExhausted and the tunnel stays up", async () => {
  const search = createClient(Search, session.transport);
  const err = ConnectError.from(await search.search(req("big")).catch((e) => e));
  expect(err.code).toBe(Code.ResourceExhausted);
  expect((await search.search(req("after"))).requestId).toBe("after");
});

test("a large request keeps the stream path", async () => {
  const before = session.stats().framedCalls;
  const res = await createClient(Search, session.transport).search(req("long", Array.from({ length: 40_000 }, () => 1)));
  expect(res.results[0]?.id).toBe("dim-40000");
  expect(session.stats().framedCalls - before).toBe(0);
});

test("an agent that did not offer Call frames gets streams, with the same answers", async () => {
  const search = createClient(Search, plain.transport);
  const res = await Promise.all(["x", "y"].map((id) => search.search(req(id))));
  expect(res.map((r) => r.requestId)).toEqual(["x", "y"]);
  const nf = ConnectError.from(await search.search(req("notfound")).catch((e) => e));
  expect(nf.code).toBe(Code.NotFound);
  expect(plain.stats().framedCalls).toBe(0);
});

test("error codes and messages cross", async () => {
  const search = createClient(Search, session.transport);
  const nf = ConnectError.from(await search.search(req("notfound")).catch((e) => e));
  expect(nf.code).toBe(Code.NotFound);
  expect(nf.rawMessage).toBe("no such vector on f1");
  const inv = ConnectError.from(await search.search(req("invalid")).catch((e) => e));
  expect(inv.code).toBe(Code.InvalidArgument);
  expect(inv.rawMessage).toBe("dimension mismatch");
});

test("a method the agent does not serve is Unimplemented", async () => {
  const err = ConnectError.from(await createClient(Search, session.transport).multiSearch({}).catch((e) => e));
  expect(err.code).toBe(Code.Unimplemented);
});
