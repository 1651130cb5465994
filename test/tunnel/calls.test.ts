// Calls of every shape cross the tunnel through a generated Connect client.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { Object_List_RequestSchema, Search_ConfigSchema, Search_RequestSchema } from "../../src/gen/payload/v1/payload_pb";
import { Object$ } from "../../src/gen/vald/v1/object_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import type { AgentSession } from "../../src/tunnel/session";
import { LIST_ITEMS, startHarness, type Harness } from "./fixture";

const req = (requestId: string, vector: number[] = [1, 2, 3]) =>
  create(Search_RequestSchema, { vector, config: create(Search_ConfigSchema, { requestId, num: 10 }) });

let h: Harness;
let search: ReturnType<typeof createClient<typeof Search>>;
let objects: ReturnType<typeof createClient<typeof Object$>>;
let session: AgentSession;

beforeAll(async () => {
  h = await startHarness();
  h.dial("a1");
  session = await h.watch.session("a1");
  search = createClient(Search, session.transport);
  objects = createClient(Object$, session.transport);
});

afterAll(async () => {
  await h.close();
});

describe("tunnel calls", () => {
  test("unary", async () => {
    const res = await search.search(req("q1", [0.5, 1, 2]));
    expect(res.requestId).toBe("q1");
    expect(res.results[0]?.id).toBe("dim-3");
    expect(res.results[0]?.distance).toBe(0.5);
  });

  test("a unary call is one websocket message each way", async () => {
    const before = session.stats();
    for (let i = 0; i < 50; i++) await search.search(req(`m${i}`));
    const after = session.stats();
    // heartbeat pings may add a message or two
    expect(after.messagesSent - before.messagesSent).toBeLessThanOrEqual(52);
    expect(after.messagesReceived - before.messagesReceived).toBeLessThanOrEqual(52);
  });

  test("concurrent unary calls keep their answers apart", async () => {
    const ids = Array.from({ length: 64 }, (_, i) => `c${i}`);
    const res = await Promise.all(ids.map((id) => search.search(req(id))));
    expect(res.map((r) => r.requestId)).toEqual(ids);
  });

  test("server stream of 1,000 messages", async () => {
    const got: string[] = [];
    for await (const r of objects.streamListObject(create(Object_List_RequestSchema))) {
      if (r.payload.case === "vector") got.push(r.payload.value.id);
    }
    expect(got.length).toBe(LIST_ITEMS);
    expect(got[0]).toBe("v0");
    expect(got[LIST_ITEMS - 1]).toBe(`v${LIST_ITEMS - 1}`);
  });

  test("bidi stream of 1,000 messages in order", async () => {
    const n = 1000;
    async function* input() {
      for (let i = 0; i < n; i++) yield req(`b${i}`, [i]);
    }
    const got: string[] = [];
    for await (const r of search.streamSearch(input())) {
      if (r.payload.case === "response") got.push(r.payload.value.requestId);
    }
    expect(got).toEqual(Array.from({ length: n }, (_, i) => `b${i}`));
  });

  test("a bidi handler that stops reading early still answers", async () => {
    let sent = 0;
    let stopped = false;
    async function* input() {
      try {
        // 4 KiB messages: the request side soon runs out of stream credit
        for (;;) {
          sent++;
          yield req("stop-after-3", Array.from({ length: 1000 }, () => 1));
        }
      } finally {
        stopped = true;
      }
    }
    const got: string[] = [];
    for await (const r of search.streamSearch(input())) {
      if (r.payload.case === "response") got.push(r.payload.value.requestId);
    }
    expect(got).toEqual(["stop-after-3", "stop-after-3", "done"]);
    expect(stopped).toBe(true);
    // bounded by the flow-control window, not endless
    expect(sent).toBeLessThan(1000);
  });

  test("error codes and messages cross", async () => {
    const nf = await search.search(req("notfound")).catch((e) => ConnectError.from(e));
    expect(nf).toBeInstanceOf(ConnectError);
    expect((nf as ConnectError).code).toBe(Code.NotFound);
    expect((nf as ConnectError).rawMessage).toBe("no such vector on a1");
    const inv = await search.search(req("invalid")).catch((e) => ConnectError.from(e));
    expect((inv as ConnectError).code).toBe(Code.InvalidArgument);
    expect((inv as ConnectError).rawMessage).toBe("dimension mismatch");
  });

  test("unknown method is Unimplemented", async () => {
    const err = await search.multiSearch({}).catch((e) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.Unimplemented);
  });

  test("4 MiB each way crosses under flow control", async () => {
    const vector = Array.from({ length: 1 << 20 }, (_, i) => i % 7);
    const res = await search.search(req("big", vector));
    expect(res.requestId).toBe(`len:${1 << 20}`);
    expect(res.results.length).toBe(40_000);
    expect(res.results[39_999]?.distance).toBe(39_999);
  }, 20_000);
});
