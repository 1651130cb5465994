// Search.Config → engine parameters (the epsilon → ef mapping) and vector checks.
import { describe, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Search_ConfigSchema } from "../../src/gen/payload/v1/payload_pb";
import { checkBatch, checkId, checkVector, searchSettings } from "../../src/agent/handlers/validate";
import { DEFAULT_REQUEST_LIMITS } from "../../src/config/limits";

const cfg = (init: Parameters<typeof create<typeof Search_ConfigSchema>>[1]) => create(Search_ConfigSchema, init);

describe("searchSettings", () => {
  test("the usual client epsilon 0.1 (and 0 = unset) gives exactly --search-edge-size", () => {
    expect(searchSettings(cfg({ num: 10, epsilon: 0.1 }), 64, DEFAULT_REQUEST_LIMITS).params.expansion).toBe(64);
    expect(searchSettings(cfg({ num: 10, epsilon: 0 }), 64, DEFAULT_REQUEST_LIMITS).params.expansion).toBe(64);
    expect(searchSettings(cfg({ num: 10, epsilon: 0.1 }), 200, DEFAULT_REQUEST_LIMITS).params.expansion).toBe(200);
  });

  test("epsilon scales ef as searchEdgeSize × (1 + ε) / 1.1, never below num", () => {
    expect(searchSettings(cfg({ num: 10, epsilon: 1.2 }), 64, DEFAULT_REQUEST_LIMITS).params.expansion).toBe(128);
    expect(searchSettings(cfg({ num: 10, epsilon: -0.45 }), 64, DEFAULT_REQUEST_LIMITS).params.expansion).toBe(Math.ceil((64 * 0.55) / 1.1));
    expect(searchSettings(cfg({ num: 100, epsilon: 0.1 }), 64, DEFAULT_REQUEST_LIMITS).params.expansion).toBe(100);
  });

  test("edge_size sets ef directly; radius <= 0 is unbounded; timeout ns → ms; request id kept", () => {
    const s = searchSettings(cfg({ num: 10, edgeSize: 300, radius: -1, timeout: 3_000_000_000n, requestId: "r", minNum: 2 }), 64, DEFAULT_REQUEST_LIMITS);
    expect(s.params).toEqual({ num: 10, radius: 0, expansion: 300 });
    expect(s.timeoutMs).toBe(3000);
    expect([s.requestId, s.minNum]).toEqual(["r", 2]);
    expect(searchSettings(cfg({ num: 1, timeout: 1n }), 64, DEFAULT_REQUEST_LIMITS).timeoutMs).toBeGreaterThan(0);
  });

  test("an epsilon or edge_size asking for more breadth than the index allows is clamped, not an error", () => {
    expect(searchSettings(cfg({ num: 10, epsilon: 1e30 }), 64, DEFAULT_REQUEST_LIMITS).params.expansion).toBe(1 << 20);
    expect(searchSettings(cfg({ num: 10, edgeSize: 4_000_000_000 }), 64, DEFAULT_REQUEST_LIMITS).params.expansion).toBe(1 << 20);
  });

  test("missing config, num 0, num over --max-search-num, negative timeout are InvalidArgument", () => {
    for (const c of [undefined, cfg({ num: 0 }), cfg({ num: 10_001 }), cfg({ num: 1_000_000_000 }), cfg({ num: 1, timeout: -1n }), cfg({ num: 1, epsilon: Number.NaN })]) {
      let err: unknown;
      try {
        searchSettings(c, 64, DEFAULT_REQUEST_LIMITS);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConnectError);
      expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    }
  });
});

test("checkVector: f32 conversion, and values beyond f32 range are rejected as Infinity", () => {
  expect(checkVector({ vector: [1, 2] }, 2, "v")).toEqual(new Float32Array([1, 2]));
  expect(() => checkVector({ vector: [1, 1e39] }, 2, "v")).toThrow(/finite/);
  expect(() => checkVector({ vector: [1, 2, 3] }, 2, "v")).toThrow(/dimension/);
  expect(() => checkVector(undefined, 2, "v")).toThrow(/0 floats/);
});

test("ids over --max-id-length (in UTF-8 bytes) and batches over --max-batch are InvalidArgument", () => {
  const limits = { ...DEFAULT_REQUEST_LIMITS, maxIdBytes: 8, maxBatch: 3 };
  expect(checkId("abcdefgh", "id", limits)).toBe("abcdefgh");
  expect(() => checkId("abcdefghi", "id", limits)).toThrow(/9 bytes, longer than --max-id-length 8/);
  // three 3-byte characters: 3 UTF-16 units but 9 bytes
  expect(() => checkId("日本語", "id", limits)).toThrow(/9 bytes/);
  expect(() => checkBatch(3, limits)).not.toThrow();
  expect(() => checkBatch(4, limits)).toThrow(/--max-batch 3/);
});
