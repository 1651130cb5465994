// Search.Config → engine parameters (the epsilon → ef mapping) and vector checks.
import { describe, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Search_ConfigSchema } from "../../src/gen/payload/v1/payload_pb";
import { checkVector, searchSettings } from "../../src/agent/handlers/validate";

const cfg = (init: Parameters<typeof create<typeof Search_ConfigSchema>>[1]) => create(Search_ConfigSchema, init);

describe("searchSettings", () => {
  test("the usual client epsilon 0.1 (and 0 = unset) gives exactly --search-edge-size", () => {
    expect(searchSettings(cfg({ num: 10, epsilon: 0.1 }), 64).params.expansion).toBe(64);
    expect(searchSettings(cfg({ num: 10, epsilon: 0 }), 64).params.expansion).toBe(64);
    expect(searchSettings(cfg({ num: 10, epsilon: 0.1 }), 200).params.expansion).toBe(200);
  });

  test("epsilon scales ef as searchEdgeSize × (1 + ε) / 1.1, never below num", () => {
    expect(searchSettings(cfg({ num: 10, epsilon: 1.2 }), 64).params.expansion).toBe(128);
    expect(searchSettings(cfg({ num: 10, epsilon: -0.45 }), 64).params.expansion).toBe(Math.ceil((64 * 0.55) / 1.1));
    expect(searchSettings(cfg({ num: 100, epsilon: 0.1 }), 64).params.expansion).toBe(100);
  });

  test("edge_size sets ef directly; radius <= 0 is unbounded; timeout ns → ms; request id kept", () => {
    const s = searchSettings(cfg({ num: 10, edgeSize: 300, radius: -1, timeout: 3_000_000_000n, requestId: "r", minNum: 2 }), 64);
    expect(s.params).toEqual({ num: 10, radius: 0, expansion: 300 });
    expect(s.timeoutMs).toBe(3000);
    expect([s.requestId, s.minNum]).toEqual(["r", 2]);
    expect(searchSettings(cfg({ num: 1, timeout: 1n }), 64).timeoutMs).toBeGreaterThan(0);
  });

  test("missing config, num 0, negative timeout are InvalidArgument", () => {
    for (const c of [undefined, cfg({ num: 0 }), cfg({ num: 1, timeout: -1n }), cfg({ num: 1, epsilon: Number.NaN })]) {
      let err: unknown;
      try {
        searchSettings(c, 64);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConnectError);
      expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    }
  });
});

test("checkVector: f32 conversion, and values beyond f32 range are rejected as Infinity", () => {
  expect(checkVector([1, 2], 2, "v")).toEqual(new Float32Array([1, 2]));
  expect(() => checkVector([1, 1e39], 2, "v")).toThrow(/finite/);
  expect(() => checkVector([1, 2, 3], 2, "v")).toThrow(/dimension/);
});
