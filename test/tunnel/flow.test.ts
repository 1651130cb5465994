// Per-stream flow control: a reader that does not read holds its sender back,
// and big messages cross in window-sized pieces.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { Object_List_RequestSchema } from "../../src/gen/payload/v1/payload_pb";
import { Object$ } from "../../src/gen/vald/v1/object_pb";
import { DEFAULT_WINDOW } from "../../src/tunnel/mux";
import type { AgentSession } from "../../src/tunnel/session";
import { BIG_ITEMS, startHarness, type Harness } from "./fixture";

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

test("a stalled reader bounds what the agent produces, then the stream completes", async () => {
  const objects = createClient(Object$, session.transport);
  const it = objects
    .streamListObject(create(Object_List_RequestSchema), { headers: { "x-big": "1" } })
    [Symbol.asyncIterator]();
  expect((await it.next()).done).toBe(false);
  // let the agent run until flow control stops it
  let last = -1;
  while (h.seen.produced !== last) {
    last = h.seen.produced;
    await Bun.sleep(100);
  }
  const perMessage = 65_536 * 4;
  // the window plus a message or two in Connect's pipelines on each end
  expect(h.seen.produced).toBeLessThanOrEqual(DEFAULT_WINDOW / perMessage + 4);
  expect(h.seen.produced).toBeLessThan(BIG_ITEMS);
  let n = 1;
  while (!(await it.next()).done) n++;
  expect(n).toBe(BIG_ITEMS);
  expect(h.seen.produced).toBe(BIG_ITEMS);
}, 20_000);
