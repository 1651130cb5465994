// The in-process call context makes its AbortSignal only when someone reads it
// (call-context.ts). A signal first read after the call ended must still say so, with
// the reason; one read early must fire when the call ends; an interceptor's request
// signal is the handler's.
import { expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type ConnectRouter, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { Search_ResponseSchema } from "../../src/gen/payload/v1/payload_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { createDirectTransport } from "../../src/rpc/direct-transport";

interface Seen {
  late?: { aborted: boolean; code: Code | undefined };
  early?: { aborted: boolean; code: Code | undefined };
  sameSignal?: boolean;
}

function setup(seen: Seen) {
  let interceptorSignal: AbortSignal | undefined;
  const spy: Interceptor = (next) => async (req) => {
    // only where the handler reads its signal early too: Search must find none made
    if (req.method.name === "LinearSearch") interceptorSignal = req.signal;
    return next(req);
  };
  const codeOf = (r: unknown) => (r instanceof ConnectError ? r.code : undefined);
  const routes = (router: ConnectRouter) =>
    router.service(Search, {
      // reads its signal only after sleeping past the caller's deadline
      search: async (_req, ctx: HandlerContext) => {
        await Bun.sleep(300);
        seen.late = { aborted: ctx.signal.aborted, code: codeOf(ctx.signal.reason) };
        return create(Search_ResponseSchema, {});
      },
      // reads it at once and waits for it to fire
      linearSearch: async (_req, ctx: HandlerContext) => {
        const s = ctx.signal;
        seen.sameSignal = interceptorSignal === s;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 3000);
          s.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
        });
        seen.early = { aborted: s.aborted, code: codeOf(s.reason) };
        return create(Search_ResponseSchema, {});
      },
    });
  return createClient(Search, createDirectTransport(routes, [spy]));
}

async function codeOfCall(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (e) {
    return ConnectError.from(e).code;
  }
}

test("a signal first read after the deadline is already aborted, with DeadlineExceeded", async () => {
  const seen: Seen = {};
  const client = setup(seen);
  expect(await codeOfCall(client.search({}, { timeoutMs: 100 }))).toBe(Code.DeadlineExceeded);
  for (let i = 0; i < 50 && seen.late === undefined; i++) await Bun.sleep(20);
  expect(seen.late).toEqual({ aborted: true, code: Code.DeadlineExceeded });
});

test("a signal read early fires at the deadline; an interceptor sees the same signal", async () => {
  const seen: Seen = {};
  const client = setup(seen);
  const t0 = performance.now();
  expect(await codeOfCall(client.linearSearch({}, { timeoutMs: 100 }))).toBe(Code.DeadlineExceeded);
  for (let i = 0; i < 50 && seen.early === undefined; i++) await Bun.sleep(20);
  expect(seen.early).toEqual({ aborted: true, code: Code.DeadlineExceeded });
  expect(performance.now() - t0).toBeLessThan(2000);
  expect(seen.sameSignal).toBe(true);
});

test("a caller's cancel reaches a signal read later", async () => {
  const seen: Seen = {};
  const client = setup(seen);
  const ac = new AbortController();
  const call = codeOfCall(client.search({}, { signal: ac.signal }));
  await Bun.sleep(30);
  ac.abort(new ConnectError("gone", Code.Canceled));
  expect(await call).toBe(Code.Canceled);
  for (let i = 0; i < 50 && seen.late === undefined; i++) await Bun.sleep(20);
  expect(seen.late).toEqual({ aborted: true, code: Code.Canceled });
});
