// Deadlines and cancellation cross the tunnel in both directions.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { Object_List_RequestSchema, Search_ConfigSchema, Search_RequestSchema } from "../../src/gen/payload/v1/payload_pb";
import { Object$ } from "../../src/gen/vald/v1/object_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import type { AgentSession } from "../../src/tunnel/session";
import { fastUnaryFor, startHarness, type Harness } from "./fixture";

const slow = () => create(Search_RequestSchema, { vector: [1], config: create(Search_ConfigSchema, { requestId: "slow" }) });

let h: Harness;
let session: AgentSession;

beforeAll(async () => {
  h = await startHarness();
  h.dial("a1");
  session = await h.watch.session("a1");
});

afterAll(async () => {
  await h.close();
});

// Unary calls are answered by Connect's handler on the agent, or in-process as
// `alvd agent` does (dispatch.ts); deadlines and cancellation must behave alike.
describe.each([
  ["Connect handler on the agent", false],
  ["in-process unary on the agent, in Call frames", true],
] as const)("unary, %s", (_label, inProcess) => {
  let h: Harness;
  let session: AgentSession;
  const settled = () => h.watch.until(() => session.openStreams === 0, "stream cleanup");

  beforeAll(async () => {
    h = await startHarness();
    h.dial("u1", inProcess ? { fastUnary: fastUnaryFor("u1", h.seen) } : {});
    session = await h.watch.session("u1");
  });

  afterAll(async () => {
    await h.close();
  });

  test("client deadline: DeadlineExceeded locally, the handler's signal aborts", async () => {
    const search = createClient(Search, session.transport);
    const started = h.seen.nextStart();
    const before = h.seen.aborts.length;
    const err = await search.search(slow(), { timeoutMs: 150 }).catch((e) => ConnectError.from(e));
    await started;
    expect((err as ConnectError).code).toBe(Code.DeadlineExceeded);
    await h.watch.until(() => h.seen.aborts.length > before, "handler abort");
    expect([Code.DeadlineExceeded, Code.Canceled] as (Code | undefined)[]).toContain(codeOf(h.seen.aborts[before]));
    await settled();
  });

  test("the agent enforces grpc-timeout on its own", async () => {
    // no client-side timer: only the header travels, so the agent must time out
    const search = createClient(Search, session.transport);
    const before = h.seen.aborts.length;
    const err = await search.search(slow(), { headers: { "grpc-timeout": "150m" } }).catch((e) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.DeadlineExceeded);
    expect(codeOf(h.seen.aborts[before])).toBe(Code.DeadlineExceeded);
    await settled();
  });

  test("client cancel aborts the agent handler", async () => {
    const search = createClient(Search, session.transport);
    const ac = new AbortController();
    const started = h.seen.nextStart();
    const before = h.seen.aborts.length;
    const call = search.search(slow(), { signal: ac.signal }).catch((e) => ConnectError.from(e));
    await started;
    ac.abort();
    expect(((await call) as ConnectError).code).toBe(Code.Canceled);
    await h.watch.until(() => h.seen.aborts.length > before, "handler abort");
    expect(codeOf(h.seen.aborts[before])).toBe(Code.Canceled);
    await settled();
  });
});

/** the code carried by an abort reason the agent handler saw */
const codeOf = (reason: unknown) => (reason instanceof ConnectError ? reason.code : undefined);

async function settled() {
  // the abort is delivered to the handler by a frame; wait until it has run
  await h.watch.until(() => session.openStreams === 0, "stream cleanup");
}

test("aborting a server stream after its first message aborts the agent handler", async () => {
  // connect-es does not cancel a call when the loop is left; the signal does
  const objects = createClient(Object$, session.transport);
  const ac = new AbortController();
  const started = h.seen.nextStart();
  const before = h.seen.aborts.length;
  for await (const r of objects.streamListObject(create(Object_List_RequestSchema), { headers: { "x-slow": "1" }, signal: ac.signal })) {
    expect(r.payload.case).toBe("vector");
    await started;
    ac.abort();
    break;
  }
  await h.watch.until(() => h.seen.aborts.length > before, "handler abort");
  expect(codeOf(h.seen.aborts[before])).toBe(Code.Canceled);
  await settled();
});

test("canceling a bidi stream mid-way aborts the agent side", async () => {
  const search = createClient(Search, session.transport);
  const ac = new AbortController();
  let sent = 0;
  async function* input() {
    for (;;) {
      yield create(Search_RequestSchema, { vector: [sent], config: create(Search_ConfigSchema, { requestId: `s${sent++}` }) });
      await Bun.sleep(1);
    }
  }
  let got = 0;
  const err = await (async () => {
    for await (const _ of search.streamSearch(input(), { signal: ac.signal })) {
      if (++got === 10) ac.abort();
    }
  })().catch((e) => ConnectError.from(e));
  expect((err as ConnectError).code).toBe(Code.Canceled);
  expect(got).toBe(10);
  await settled();
});
