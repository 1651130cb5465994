// The in-process transport for the embedded agent: same codes, details, deadlines and
// stream behaviour as a network transport.
import { expect, test } from "bun:test";
import { Code, ConnectError, createClient, createRouterTransport, type ConnectRouter } from "@connectrpc/connect";
import { createDirectTransport } from "../../src/rpc/direct-transport";
import { orderedStream } from "../../src/gateway/concurrency";
import { Object$ } from "../../src/gen/vald/v1/object_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { ErrorInfoSchema } from "../../src/gen/rpc/v1/error_details_pb";
import { agentRoutes } from "../../src/agent/routes";
import { log, randomVector, rng, testEngine } from "./cluster";

const D = 4;

test("errors keep code and rpc.v1 details; success returns real messages", async () => {
  const engine = await testEngine("t1", D);
  for (const transport of [createDirectTransport(agentRoutes(engine, log)), createRouterTransport(agentRoutes(engine, log))]) {
    const object = createClient(Object$, transport);
    try {
      await object.exists({ id: "missing" });
      throw new Error("expected NotFound");
    } catch (e) {
      const err = ConnectError.from(e);
      expect(err.code).toBe(Code.NotFound);
      expect(err.findDetails(ErrorInfoSchema).length).toBeGreaterThan(0);
    }
    await engine.insert("x", Float32Array.from([1, 2, 3, 4]), 0n, false).catch(() => {});
    const v = await object.getObject({ id: { id: "x" } });
    expect(v.$typeName).toBe("payload.v1.Object.Vector");
    expect(v.vector).toEqual([1, 2, 3, 4]);
  }
  await engine.close();
});

test("deadline and cancellation reach the handler and end the call", async () => {
  let sawTimeout: number | undefined;
  let aborted = false;
  const routes = (router: ConnectRouter) =>
    router.service(Search, {
      search: async (_req, ctx) => {
        sawTimeout = ctx.timeoutMs();
        await new Promise((r) => ctx.signal.addEventListener("abort", r));
        aborted = true;
        return {};
      },
    });
  const search = createClient(Search, createDirectTransport(routes));
  try {
    await search.search({ vector: [1, 2], config: { num: 1 } }, { timeoutMs: 80 });
    throw new Error("expected DeadlineExceeded");
  } catch (e) {
    expect(ConnectError.from(e).code).toBe(Code.DeadlineExceeded);
  }
  // the handler never answers by itself: the call ended because its deadline did
  expect(sawTimeout).toBeGreaterThan(0);
  expect(sawTimeout).toBeLessThanOrEqual(80);
  await new Promise((r) => setTimeout(r, 10));
  expect(aborted).toBe(true);

  const ac = new AbortController();
  setTimeout(() => ac.abort(), 30);
  try {
    await search.search({ vector: [1, 2], config: { num: 1 } }, { signal: ac.signal });
    throw new Error("expected Canceled");
  } catch (e) {
    expect(ConnectError.from(e).code).toBe(Code.Canceled);
  }
  // unimplemented methods say so
  try {
    await search.linearSearch({ vector: [1, 2], config: { num: 1 } });
    throw new Error("expected Unimplemented");
  } catch (e) {
    expect(ConnectError.from(e).code).toBe(Code.Unimplemented);
  }
});

test("server stream: a consumer breaking early leaves the transport usable", async () => {
  const engine = await testEngine("t2", D);
  const r = rng(1);
  for (let i = 0; i < 50; i++) await engine.insert(`v${i}`, Float32Array.from(randomVector(r, D)), 0n, false);
  const object = createClient(Object$, createDirectTransport(agentRoutes(engine, log)));
  let n = 0;
  for await (const item of object.streamListObject({})) {
    expect(item.payload.case).toBe("vector");
    if (++n === 5) break;
  }
  let all = 0;
  for await (const _ of object.streamListObject({})) all++;
  expect(all).toBe(50);
  await engine.close();
});

test("orderedStream: in order, concurrent, and never stalls a client that waits for each answer", async () => {
  // concurrent: 10 of the 20 items are in flight at once (the peak, not a wall-clock bound, shows it)
  async function* twenty() {
    for (let i = 0; i < 20; i++) yield i;
  }
  let inFlight = 0;
  let peak = 0;
  const out: number[] = [];
  for await (const x of orderedStream(twenty(), 10, async (i) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    await new Promise((r) => setTimeout(r, 30 - i)); // later items finish first
    inFlight--;
    return i;
  })) out.push(x);
  expect(out).toEqual(Array.from({ length: 20 }, (_, i) => i));
  expect(peak).toBe(10);

  // ping-pong: the next request is only sent after the previous answer arrived
  let answered = 0;
  const gate: (() => void)[] = [];
  async function* pingPong() {
    for (let i = 0; i < 5; i++) {
      yield i;
      if (i < 4) await new Promise<void>((r) => gate.push(r));
    }
  }
  const got: number[] = [];
  for await (const x of orderedStream(pingPong(), 8, async (i) => i * 10)) {
    got.push(x);
    answered++;
    gate.shift()?.();
  }
  expect(got).toEqual([0, 10, 20, 30, 40]);
  expect(answered).toBe(5);
});
