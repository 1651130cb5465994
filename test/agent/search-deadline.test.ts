// A search that outlives its time ends with DeadlineExceeded at that time, whichever
// limit is the shorter: Search.Config.timeout, the call's own deadline, or both set to
// the same value (as the gateway sends them). The agent's handler sets its own timer
// only where the call's deadline would come later than the config's timeout
// (handlers/env.ts withDeadline), so each combination is checked here against an
// engine whose searches take far longer than any of the limits.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { agentRoutes } from "../../src/agent/routes";
import type { Engine } from "../../src/agent/engine/types";
import { createDirectTransport } from "../../src/rpc/direct-transport";
import { log, testEngine } from "../gateway/cluster";

const D = 8;
/** how long a search takes on the slow engine; every limit below is far shorter */
const SLOW_MS = 4000;
/** a limit counts as honoured when the call ends well before the search would */
const WELL_BEFORE_MS = 2500;

let engine: Engine;
let slowEngine: Engine;
let slow: Client<typeof Search>;
let fast: Client<typeof Search>;
/** searches the slow engine started, so a test can tell the engine was reached */
let started = 0;

beforeAll(async () => {
  engine = await testEngine("deadline", D);
  for (let i = 0; i < 20; i++) await engine.insert(`v${i}`, Float32Array.from({ length: D }, (_, j) => i + j), 0n, false);
  await engine.createIndex(0);
  // the real engine, with every search answered SLOW_MS late
  slowEngine = new Proxy(engine, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (prop === "search" || prop === "linearSearch") {
        return async (...args: unknown[]) => {
          started++;
          await Bun.sleep(SLOW_MS);
          return (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        };
      }
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  slow = createClient(Search, createDirectTransport(agentRoutes(slowEngine, log)));
  fast = createClient(Search, createDirectTransport(agentRoutes(engine, log)));
});

afterAll(async () => {
  await engine.close();
});

const vector = () => Array.from({ length: D }, (_, j) => 3 + j);

async function outcome(call: Promise<unknown>): Promise<{ code: Code | "ok"; ms: number }> {
  const t0 = performance.now();
  try {
    await call;
    return { code: "ok", ms: performance.now() - t0 };
  } catch (e) {
    return { code: ConnectError.from(e).code, ms: performance.now() - t0 };
  }
}

describe("a slow search ends at the shorter of its limits", () => {
  const cases: { name: string; configMs: number; callMs: number | undefined }[] = [
    { name: "config timeout, no call deadline", configMs: 200, callMs: undefined },
    { name: "config timeout and call deadline the same (as the gateway sends them)", configMs: 200, callMs: 200 },
    { name: "call deadline shorter than the config timeout", configMs: 60_000, callMs: 200 },
    { name: "config timeout shorter than the call deadline", configMs: 200, callMs: 60_000 },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const before = started;
      const r = await outcome(
        slow.search({ vector: vector(), config: { num: 3, radius: -1, timeout: BigInt(c.configMs) * 1_000_000n } }, c.callMs === undefined ? {} : { timeoutMs: c.callMs }),
      );
      expect(started).toBe(before + 1);
      expect(r.code).toBe(Code.DeadlineExceeded);
      expect(r.ms).toBeLessThan(WELL_BEFORE_MS);
    });
  }

  test("a client that cancels gets Canceled at once", async () => {
    const ac = new AbortController();
    const call = outcome(slow.search({ vector: vector(), config: { num: 3, radius: -1, timeout: 60_000_000_000n } }, { signal: ac.signal, timeoutMs: 60_000 }));
    await Bun.sleep(50);
    ac.abort();
    const r = await call;
    expect(r.code).toBe(Code.Canceled);
    expect(r.ms).toBeLessThan(WELL_BEFORE_MS);
  });
});

describe("a search that finishes in time", () => {
  test("answers under both limits", async () => {
    const res = await fast.search({ vector: vector(), config: { num: 3, radius: -1, timeout: 5_000_000_000n } }, { timeoutMs: 5000 });
    expect(res.results.map((r) => r.id)).toEqual(["v3", "v2", "v4"]);
  });

  test("a 1 ns config timeout is DeadlineExceeded even with a long call deadline", async () => {
    const r = await outcome(fast.search({ vector: vector(), config: { num: 3, radius: -1, timeout: 1n } }, { timeoutMs: 5000 }));
    expect(r.code).toBe(Code.DeadlineExceeded);
  });
});
