// Agents run unary calls arriving through the tunnel in-process (dispatch.ts fast
// path) instead of through Connect's handler; the server sends them without Connect's
// client pipeline (unary.ts). Same answers, codes, deadlines and cancellation as the
// Connect paths the other tunnel tests cover.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { Search_ConfigSchema, Search_RequestSchema } from "../../src/gen/payload/v1/payload_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { createDirectTransport, type DirectTransport } from "../../src/rpc/direct-transport";
import type { AgentSession } from "../../src/tunnel/session";
import { startHarness, testRoutes, type Harness } from "./fixture";

const req = (requestId: string, vector: number[] = [1, 2, 3]) =>
  create(Search_RequestSchema, { vector, config: create(Search_ConfigSchema, { requestId, num: 10 }) });

let h: Harness;
let session: AgentSession;
let fastCalls = 0;

beforeAll(async () => {
  h = await startHarness();
  const inner = createDirectTransport(testRoutes("f1", h.seen as Parameters<typeof testRoutes>[1]));
  const counting: DirectTransport = { ...inner, unary: (...args) => (fastCalls++, inner.unary(...args)) };
  h.dial("f1", { fastUnary: { transport: counting, readMaxBytes: 1 << 20, writeMaxBytes: 1 << 20 } });
  session = await h.watch.session("f1");
});

afterAll(async () => {
  await h.close();
});

const codeOf = (reason: unknown) => (reason instanceof ConnectError ? reason.code : undefined);
const settled = () => h.watch.until(() => session.openStreams === 0, "stream cleanup");

test("unary answers come from the in-process path", async () => {
  const search = createClient(Search, session.transport);
  const before = fastCalls;
  const ids = Array.from({ length: 32 }, (_, i) => `q${i}`);
  const res = await Promise.all(ids.map((id) => search.search(req(id, [0.5, 1, 2]))));
  expect(res.map((r) => r.requestId)).toEqual(ids);
  expect(res[0]?.results[0]).toMatchObject({ id: "dim-3", distance: 0.5 });
  expect(fastCalls - before).toBe(32);
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

test("client deadline: DeadlineExceeded locally, the handler's signal aborts", async () => {
  const search = createClient(Search, session.transport);
  const started = h.seen.nextStart();
  const before = h.seen.aborts.length;
  const err = ConnectError.from(await search.search(req("slow"), { timeoutMs: 150 }).catch((e) => e));
  await started;
  expect(err.code).toBe(Code.DeadlineExceeded);
  await h.watch.until(() => h.seen.aborts.length > before, "handler abort");
  expect([Code.DeadlineExceeded, Code.Canceled] as (Code | undefined)[]).toContain(codeOf(h.seen.aborts[before]));
  await settled();
});

test("the agent enforces grpc-timeout on its own", async () => {
  const search = createClient(Search, session.transport);
  const before = h.seen.aborts.length;
  const err = ConnectError.from(await search.search(req("slow"), { headers: { "grpc-timeout": "150m" } }).catch((e) => e));
  expect(err.code).toBe(Code.DeadlineExceeded);
  expect(codeOf(h.seen.aborts[before])).toBe(Code.DeadlineExceeded);
  await settled();
});

test("client cancel aborts the agent handler", async () => {
  const search = createClient(Search, session.transport);
  const ac = new AbortController();
  const started = h.seen.nextStart();
  const before = h.seen.aborts.length;
  const call = search.search(req("slow"), { signal: ac.signal }).catch((e) => ConnectError.from(e));
  await started;
  ac.abort();
  expect(((await call) as ConnectError).code).toBe(Code.Canceled);
  await h.watch.until(() => h.seen.aborts.length > before, "handler abort");
  expect(codeOf(h.seen.aborts[before])).toBe(Code.Canceled);
  await settled();
});
