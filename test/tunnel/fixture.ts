// Test-only services and a harness: a listener and a dialer on 127.0.0.1 with
// a small vald.v1.Search / vald.v1.Object implementation behind the tunnel.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createConnectRouter, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import {
  Object_DistanceSchema,
  Object_List_ResponseSchema,
  Object_VectorSchema,
  Search_ResponseSchema,
  Search_RequestSchema,
  Search_StreamResponseSchema,
  type Search_Request,
} from "../../src/gen/payload/v1/payload_pb";
import { Object$ } from "../../src/gen/vald/v1/object_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { createLogger, type Logger } from "../../src/observe/log";
import { createDirectTransport, type DirectTransport } from "../../src/rpc/direct-transport";
import { dialTunnel, type DialState, type DialTunnelOptions, type TunnelDialer } from "../../src/tunnel/dialer";
import type { FastUnary } from "../../src/tunnel/dispatch";
import { listenTunnel, type TunnelListener, type TunnelListenerOptions } from "../../src/tunnel/listener";
import type { AgentSession } from "../../src/tunnel/session";

export const LIST_ITEMS = 1000;
/** x-big streams: this many 256 KiB vectors */
export const BIG_ITEMS = 24;

/** What the agent-side handlers observed, for assertions about cancellation. */
export interface Observed {
  /** abort reasons seen by "slow" handlers, in order */
  aborts: unknown[];
  started: number;
  /** messages an x-big stream handler has produced so far */
  produced: number;
  /** resolves the next time a slow handler starts */
  nextStart: () => Promise<void>;
}

export function observe(): Observed & { started_: () => void } {
  let waiters: (() => void)[] = [];
  const o = {
    aborts: [] as unknown[],
    started: 0,
    produced: 0,
    nextStart: () => new Promise<void>((r) => waiters.push(r)),
    started_: () => {
      o.started++;
      const w = waiters;
      waiters = [];
      for (const f of w) f();
    },
  };
  return o;
}

/** waits until the handler's signal aborts; gives up after 10 s so a broken test cannot hang */
function untilAborted(ctx: HandlerContext): Promise<unknown> {
  return new Promise((resolve) => {
    if (ctx.signal.aborted) return resolve(ctx.signal.reason);
    const t = setTimeout(() => resolve("never aborted"), 10_000);
    ctx.signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve(ctx.signal.reason);
    });
  });
}

function answer(req: Search_Request) {
  const id = req.config?.requestId ?? "";
  if (id === "big") {
    // ~4 MiB back: 40k results with 100-byte ids
    const results = Array.from({ length: 40_000 }, (_, i) =>
      create(Object_DistanceSchema, { id: `${i}`.padStart(100, "x"), distance: i }),
    );
    return create(Search_ResponseSchema, { requestId: `len:${req.vector.length}`, results });
  }
  if (id === "wide") {
    // ~520 KiB back: larger than one tunnel frame, within the fixture's 1 MiB limits
    const results = Array.from({ length: 5_000 }, (_, i) => create(Object_DistanceSchema, { id: `${i}`.padStart(100, "w"), distance: i }));
    return create(Search_ResponseSchema, { requestId: "wide", results });
  }
  return create(Search_ResponseSchema, {
    requestId: id,
    results: [create(Object_DistanceSchema, { id: `dim-${req.vector.length}`, distance: req.vector[0] ?? 0 })],
  });
}

export function testRouter(agent: string, seen: ReturnType<typeof observe>) {
  const router = createConnectRouter();
  testRoutes(agent, seen)(router);
  return router;
}

/**
 * The agent-side option that runs unary calls in-process (as `alvd agent` does) over
 * the test services; `wrap` may decorate the transport (e.g. to count calls).
 */
export function fastUnaryFor(agent: string, seen: Observed, wrap: (t: DirectTransport) => DirectTransport = (t) => t): FastUnary {
  return { transport: wrap(createDirectTransport(testRoutes(agent, seen as ReturnType<typeof observe>))), readMaxBytes: 1 << 20, writeMaxBytes: 1 << 20 };
}

/** the services behind the test tunnel, as a routes function */
export function testRoutes(agent: string, seen: ReturnType<typeof observe>): (router: ConnectRouter) => void {
  return (router) => {
    router.service(Search, {
      async search(req, ctx) {
        const id = req.config?.requestId ?? "";
        if (id === "notfound") throw new ConnectError(`no such vector on ${agent}`, Code.NotFound);
        if (id === "invalid") throw new ConnectError("dimension mismatch", Code.InvalidArgument);
        if (id === "slow") {
          seen.started_();
          const reason = await untilAborted(ctx);
          seen.aborts.push(reason);
          throw reason instanceof ConnectError ? reason : new ConnectError("gave up", Code.Aborted);
        }
        if (id === "who") return create(Search_ResponseSchema, { requestId: agent });
        return answer(req);
      },
      async *streamSearch(reqs) {
        let n = 0;
        for await (const req of reqs) {
          if (req.config?.requestId === "stop-after-3" && ++n === 3) {
            // stop reading the requests but still answer
            break;
          }
          yield create(Search_StreamResponseSchema, { payload: { case: "response", value: answer(req) } });
        }
        if (n === 3) yield create(Search_StreamResponseSchema, { payload: { case: "response", value: answer(create(Search_RequestSchema, { config: { requestId: "done" } })) } });
      },
    });
    router.service(Object$, {
      async *streamListObject(_req, ctx) {
        if (ctx.requestHeader.get("x-big") === "1") {
          const vector = Array.from({ length: 65_536 }, (_, i) => i);
          for (let i = 0; i < BIG_ITEMS; i++) {
            seen.produced++;
            yield create(Object_List_ResponseSchema, {
              payload: { case: "vector", value: create(Object_VectorSchema, { id: `big${i}`, vector }) },
            });
          }
          return;
        }
        if (ctx.requestHeader.get("x-slow") === "1") {
          yield create(Object_List_ResponseSchema, {
            payload: { case: "vector", value: create(Object_VectorSchema, { id: "first", vector: [1] }) },
          });
          seen.started_();
          seen.aborts.push(await untilAborted(ctx));
          return;
        }
        for (let i = 0; i < LIST_ITEMS; i++) {
          yield create(Object_List_ResponseSchema, {
            payload: { case: "vector", value: create(Object_VectorSchema, { id: `v${i}`, vector: [i, i + 1] }) },
          });
        }
      },
    });
  };
}

export interface LogSink {
  lines: string[];
  log: Logger;
}

export function logSink(level: "debug" | "info" = "info"): LogSink {
  const lines: string[] = [];
  return { lines, log: createLogger({ level, format: "text" }, (l) => void lines.push(l)) };
}

/** Collects sessions as they come and go, with waits for the next event. */
export class SessionWatch {
  readonly up: AgentSession[] = [];
  readonly gone: AgentSession[] = [];
  private waiters: (() => void)[] = [];

  readonly onAgent = (s: AgentSession) => {
    this.up.push(s);
    this.poke();
  };
  readonly onAgentGone = (s: AgentSession) => {
    this.gone.push(s);
    this.poke();
  };

  private poke() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** waits until pred holds; rejects after 10 s */
  async until(pred: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  async session(name: string): Promise<AgentSession> {
    await this.until(() => this.up.some((s) => s.name === name && !s.signal.aborted), `agent ${name}`);
    return this.up.findLast((s) => s.name === name && !s.signal.aborted)!;
  }
}

export interface Harness {
  listener: TunnelListener;
  watch: SessionWatch;
  serverLog: LogSink;
  seen: Observed;
  dial(name: string, extra?: Partial<DialTunnelOptions>): { dialer: TunnelDialer; states: DialState[]; log: LogSink };
  close(): Promise<void>;
}

export async function startHarness(opts: Partial<TunnelListenerOptions> = {}): Promise<Harness> {
  const watch = new SessionWatch();
  const serverLog = logSink();
  const listener = await listenTunnel({
    host: "127.0.0.1",
    port: 0,
    onAgent: watch.onAgent,
    onAgentGone: watch.onAgentGone,
    log: serverLog.log,
    ...opts,
  });
  const seen = observe();
  const dialers: TunnelDialer[] = [];
  return {
    listener,
    watch,
    serverLog,
    seen,
    dial(name, extra = {}) {
      const states: DialState[] = [];
      const log = logSink();
      const dialer = dialTunnel({
        server: `127.0.0.1:${listener.port}`,
        name,
        handlers: testRouter(name, seen).handlers,
        log: log.log,
        onState: (s) => void states.push(s),
        backoff: { initialMs: 20, maxMs: 200 },
        ...extra,
      });
      dialers.push(dialer);
      return { dialer, states, log };
    },
    async close() {
      await Promise.all(dialers.map((d) => d.close()));
      await listener.close();
    },
  };
}
