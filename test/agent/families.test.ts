// Every RPC family of the agent over grpc-js (real HTTP/2 gRPC client, our generated
// types), against the real `alvd agent` process: unary, Multi* and Stream* forms,
// per-item stream statuses, bad-input codes and the rpc.v1 error details.
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { fromBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import { Agent } from "../../src/gen/core/v1/agent_pb";
import { StatusSchema } from "../../src/gen/google/rpc/status_pb";
import { Remove_Timestamp_Operator } from "../../src/gen/payload/v1/payload_pb";
import { BadRequestSchema, ErrorInfoSchema, ResourceInfoSchema, RequestInfoSchema } from "../../src/gen/rpc/v1/error_details_pb";
import { Filter } from "../../src/gen/vald/v1/filter_pb";
import { Flush } from "../../src/gen/vald/v1/flush_pb";
import { Index } from "../../src/gen/vald/v1/index_pb";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { Object$ } from "../../src/gen/vald/v1/object_pb";
import { Remove } from "../../src/gen/vald/v1/remove_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { Update } from "../../src/gen/vald/v1/update_pb";
import { Upsert } from "../../src/gen/vald/v1/upsert_pb";
import { GrpcJs, grpcError, spawnAgent, vectors, type AgentProcess } from "./harness";

// Real processes on a shared 2-core box: start-up alone can take seconds under load.
setDefaultTimeout(30_000);

const DIM = 8;
const M = Insert.method;
let agent: AgentProcess;
let rpc: GrpcJs;
let agentName = "";

const vec = vectors(200, DIM, 7);
const v = (i: number) => vec[i]!;
const cfg = (num = 3, extra: Record<string, unknown> = {}) => ({ num, radius: -1, epsilon: 0.1, timeout: 3_000_000_000n, ...extra });

function statusDetails(e: ServiceError) {
  const raw = e.metadata.get("grpc-status-details-bin")[0];
  expect(raw).toBeInstanceOf(Buffer);
  const st = fromBinary(StatusSchema, raw as Buffer);
  expect(st.code).toBe(e.code);
  const find = <T extends Parameters<typeof anyUnpack>[1]>(schema: T) => {
    for (const d of st.details) {
      const m = anyUnpack(d, schema);
      if (m) return m;
    }
    return undefined;
  };
  return {
    errorInfo: find(ErrorInfoSchema),
    badRequest: find(BadRequestSchema),
    resourceInfo: find(ResourceInfoSchema),
    requestInfo: find(RequestInfoSchema),
  };
}

async function code(p: Promise<unknown>): Promise<number> {
  return (await grpcError(p)).code;
}

beforeAll(async () => {
  agent = await spawnAgent({ dimension: DIM, args: ["--name", "agent-families"] });
  rpc = new GrpcJs(agent.address);
  agentName = "agent-families";
});

afterAll(async () => {
  rpc?.close();
  expect(await agent?.stop()).toBe(0);
});

describe("insert", () => {
  test("unary insert returns the location; a second insert is ALREADY_EXISTS with details", async () => {
    const loc = await rpc.unary(M.insert, { vector: { id: "ins-1", vector: v(1) } });
    expect(loc.name).toBe(agentName);
    expect(loc.uuid).toBe("ins-1");
    expect(loc.ips).toEqual(["127.0.0.1"]);
    const e = await grpcError(rpc.unary(M.insert, { vector: { id: "ins-1", vector: v(1) } }));
    expect(e.code).toBe(GrpcStatus.ALREADY_EXISTS);
    const d = statusDetails(e);
    expect(d.errorInfo?.reason).toBeTruthy();
    expect(d.errorInfo?.domain).toBeTruthy();
    expect(d.resourceInfo?.resourceName).toBe(agentName);
    expect(d.resourceInfo?.resourceType).toContain("vald.v1.Insert/Insert");
  });

  test("bad input is INVALID_ARGUMENT with a BadRequest field violation", async () => {
    const bad = [
      { vector: { id: "bad-dim", vector: [1, 2, 3] } },
      { vector: { id: "", vector: v(2) } },
      { vector: { id: "bad-one", vector: [1] } },
      { vector: { id: "bad-nan", vector: [...v(2).slice(0, DIM - 1), Number.NaN] } },
      { vector: { id: "bad-inf", vector: [Number.POSITIVE_INFINITY, ...v(2).slice(1)] } },
      {},
    ];
    for (const req of bad) {
      const e = await grpcError(rpc.unary(M.insert, req));
      expect(e.code).toBe(GrpcStatus.INVALID_ARGUMENT);
      expect(statusDetails(e).badRequest?.fieldViolations.length).toBeGreaterThan(0);
    }
    expect(await code(rpc.unary(Object$.method.exists, { id: "bad-dim" }))).toBe(GrpcStatus.NOT_FOUND);
  });

  test("MultiInsert validates every item first: a bad item in the middle applies nothing", async () => {
    const e = await grpcError(
      rpc.unary(M.multiInsert, {
        requests: [{ vector: { id: "mi-a", vector: v(3) } }, { vector: { id: "mi-b", vector: [1, 2] } }, { vector: { id: "mi-c", vector: v(4) } }],
      }),
    );
    expect(e.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(statusDetails(e).badRequest?.fieldViolations[0]?.field).toContain("requests[1]");
    expect(await code(rpc.unary(Object$.method.exists, { id: "mi-a" }))).toBe(GrpcStatus.NOT_FOUND);
    // an existing id is known in advance too
    expect(
      await code(rpc.unary(M.multiInsert, { requests: [{ vector: { id: "mi-a", vector: v(3) } }, { vector: { id: "ins-1", vector: v(1) } }] })),
    ).toBe(GrpcStatus.ALREADY_EXISTS);
    expect(await code(rpc.unary(Object$.method.exists, { id: "mi-a" }))).toBe(GrpcStatus.NOT_FOUND);
    const ok = await rpc.unary(M.multiInsert, {
      requests: [{ vector: { id: "mi-a", vector: v(3) } }, { vector: { id: "mi-c", vector: v(4) } }],
    });
    expect(ok.locations.map((l) => l.uuid)).toEqual(["mi-a", "mi-c"]);
  });

  test("StreamInsert: one response per request in order; a bad item gets its own status and the stream goes on", async () => {
    const res = await rpc.bidi(M.streamInsert, [
      { vector: { id: "si-0", vector: v(10) } },
      { vector: { id: "si-1", vector: [0, 1, 2] } },
      { vector: { id: "ins-1", vector: v(1) } },
      { vector: { id: "si-3", vector: v(13) } },
    ]);
    expect(res.map((r) => r.payload.case)).toEqual(["location", "status", "status", "location"]);
    expect(res[0]!.payload.value).toMatchObject({ uuid: "si-0", name: agentName });
    const st = (i: number) => (res[i]!.payload.case === "status" ? res[i]!.payload.value : undefined);
    expect(st(1)?.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(st(1)?.message).toContain("dimension");
    expect(st(1)?.details.length).toBeGreaterThan(0);
    expect(st(2)?.code).toBe(GrpcStatus.ALREADY_EXISTS);
    expect(res[3]!.payload.value).toMatchObject({ uuid: "si-3" });
  });
});

describe("update, upsert", () => {
  test("Update: NOT_FOUND for a missing id, ALREADY_EXISTS for an identical vector, else the location", async () => {
    expect(await code(rpc.unary(Update.method.update, { vector: { id: "nope", vector: v(5) } }))).toBe(GrpcStatus.NOT_FOUND);
    expect(await code(rpc.unary(Update.method.update, { vector: { id: "ins-1", vector: v(1) } }))).toBe(GrpcStatus.ALREADY_EXISTS);
    const loc = await rpc.unary(Update.method.update, { vector: { id: "ins-1", vector: v(20) } });
    expect(loc.uuid).toBe("ins-1");
    const got = await rpc.unary(Object$.method.getObject, { id: { id: "ins-1" } });
    expect(got.vector).toEqual(v(20));
  });

  test("MultiUpdate with a missing id changes nothing; StreamUpdate reports it per item", async () => {
    expect(
      await code(
        rpc.unary(Update.method.multiUpdate, {
          requests: [{ vector: { id: "mi-a", vector: v(30) } }, { vector: { id: "missing", vector: v(31) } }],
        }),
      ),
    ).toBe(GrpcStatus.NOT_FOUND);
    expect((await rpc.unary(Object$.method.getObject, { id: { id: "mi-a" } })).vector).toEqual(v(3));
    const res = await rpc.bidi(Update.method.streamUpdate, [
      { vector: { id: "mi-a", vector: v(32) } },
      { vector: { id: "missing", vector: v(33) } },
      { vector: { id: "mi-c", vector: v(34) } },
    ]);
    expect(res.map((r) => r.payload.case)).toEqual(["location", "status", "location"]);
    expect(res[1]!.payload.case === "status" && res[1]!.payload.value.code).toBe(GrpcStatus.NOT_FOUND);
    expect((await rpc.unary(Object$.method.getObject, { id: { id: "mi-c" } })).vector).toEqual(v(34));
  });

  test("Upsert inserts or updates; MultiUpsert and StreamUpsert too", async () => {
    await rpc.unary(Upsert.method.upsert, { vector: { id: "up-1", vector: v(40) } });
    await rpc.unary(Upsert.method.upsert, { vector: { id: "up-1", vector: v(41) } });
    expect((await rpc.unary(Object$.method.getObject, { id: { id: "up-1" } })).vector).toEqual(v(41));
    const multi = await rpc.unary(Upsert.method.multiUpsert, {
      requests: [{ vector: { id: "up-1", vector: v(42) } }, { vector: { id: "up-2", vector: v(43) } }],
    });
    expect(multi.locations.length).toBe(2);
    const res = await rpc.bidi(Upsert.method.streamUpsert, [
      { vector: { id: "up-3", vector: v(44) } },
      { vector: { id: "up-4", vector: [Number.NaN, ...v(45).slice(1)] } },
      { vector: { id: "up-2", vector: v(46) } },
    ]);
    expect(res.map((r) => (r.payload.case === "status" ? r.payload.value.code : r.payload.case))).toEqual(["location", GrpcStatus.INVALID_ARGUMENT, "location"]);
  });

  test("UpdateTimestamp and GetTimestamp (vald.v1.Object and the legacy core.v1.Agent)", async () => {
    await rpc.unary(M.insert, { vector: { id: "ts-x", vector: v(50) }, config: { timestamp: 1234n } });
    expect((await rpc.unary(Object$.method.getTimestamp, { id: { id: "ts-x" } })).timestamp).toBe(1234n);
    await rpc.unary(Update.method.updateTimestamp, { id: "ts-x", timestamp: 5678n, force: true });
    expect((await rpc.unary(Agent.method.getTimestamp, { id: { id: "ts-x" } })).timestamp).toBe(5678n);
    expect(await code(rpc.unary(Update.method.updateTimestamp, { id: "ts-missing", timestamp: 1n }))).toBe(GrpcStatus.NOT_FOUND);
    expect(await code(rpc.unary(Object$.method.getTimestamp, { id: { id: "" } }))).toBe(GrpcStatus.INVALID_ARGUMENT);
  });
});

describe("search", () => {
  test("Search finds the vector itself first and echoes request_id", async () => {
    const res = await rpc.unary(Search.method.search, { vector: v(13), config: cfg(3, { requestId: "req-42" }) });
    expect(res.requestId).toBe("req-42");
    expect(res.results[0]?.id).toBe("si-3");
    expect(res.results.length).toBe(3);
    for (let i = 1; i < res.results.length; i++) expect(res.results[i]!.distance).toBeGreaterThanOrEqual(res.results[i - 1]!.distance);
  });

  test("SearchByID, LinearSearch, LinearSearchByID agree on the nearest", async () => {
    const byId = await rpc.unary(Search.method.searchByID, { id: "si-3", config: cfg(2) });
    const lin = await rpc.unary(Search.method.linearSearch, { vector: v(13), config: cfg(2) });
    const linId = await rpc.unary(Search.method.linearSearchByID, { id: "si-3", config: cfg(2) });
    expect([byId.results[0]?.id, lin.results[0]?.id, linId.results[0]?.id]).toEqual(["si-3", "si-3", "si-3"]);
    expect(lin.results[0]?.distance).toBe(0);
  });

  test("bad search input: wrong dimension, one float, num 0, missing config are INVALID_ARGUMENT", async () => {
    for (const req of [
      { vector: [1, 2, 3], config: cfg() },
      { vector: [1], config: cfg() },
      { vector: v(1), config: cfg(0) },
      { vector: v(1) },
    ]) {
      const e = await grpcError(rpc.unary(Search.method.search, req));
      expect(e.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    }
    expect(await code(rpc.unary(Search.method.searchByID, { id: "missing", config: cfg() }))).toBe(GrpcStatus.NOT_FOUND);
  });

  test("fewer results than min_num is NOT_FOUND; a 1 ns timeout is DEADLINE_EXCEEDED; request id in RequestInfo", async () => {
    const e = await grpcError(rpc.unary(Search.method.search, { vector: v(1), config: cfg(10, { minNum: 100_000, requestId: "rq-min" }) }));
    expect(e.code).toBe(GrpcStatus.NOT_FOUND);
    expect(statusDetails(e).requestInfo?.requestId).toBe("rq-min");
    expect(await code(rpc.unary(Search.method.search, { vector: v(1), config: cfg(3, { timeout: 1n }) }))).toBe(GrpcStatus.DEADLINE_EXCEEDED);
  });

  test("MultiSearch answers in order; a bad query rejects the call", async () => {
    const res = await rpc.unary(Search.method.multiSearch, {
      requests: [
        { vector: v(13), config: cfg(1) },
        { vector: v(10), config: cfg(1) },
      ],
    });
    expect(res.responses.map((r) => r.results[0]?.id)).toEqual(["si-3", "si-0"]);
    expect(
      await code(rpc.unary(Search.method.multiSearch, { requests: [{ vector: v(13), config: cfg(1) }, { vector: [1, 2], config: cfg(1) }] })),
    ).toBe(GrpcStatus.INVALID_ARGUMENT);
    const byId = await rpc.unary(Search.method.multiSearchByID, { requests: [{ id: "si-0", config: cfg(1) }, { id: "si-3", config: cfg(1) }] });
    expect(byId.responses.map((r) => r.results[0]?.id)).toEqual(["si-0", "si-3"]);
    const lin = await rpc.unary(Search.method.multiLinearSearch, { requests: [{ vector: v(10), config: cfg(1) }] });
    expect(lin.responses[0]?.results[0]?.id).toBe("si-0");
    const linId = await rpc.unary(Search.method.multiLinearSearchByID, { requests: [{ id: "si-3", config: cfg(1) }] });
    expect(linId.responses[0]?.results[0]?.id).toBe("si-3");
  });

  test("StreamSearch(ByID) and StreamLinearSearch(ByID): bad items get a status in place, in order", async () => {
    const many = Array.from({ length: 20 }, (_, i) => (i === 7 ? { vector: [1, 2, 3], config: cfg(1) } : { vector: v(i % 2 ? 13 : 10), config: cfg(1, { requestId: `s${i}` }) }));
    const res = await rpc.bidi(Search.method.streamSearch, many);
    expect(res.length).toBe(20);
    res.forEach((r, i) => {
      if (i === 7) expect(r.payload.case === "status" && r.payload.value.code).toBe(GrpcStatus.INVALID_ARGUMENT);
      else expect(r.payload.case === "response" && r.payload.value.requestId).toBe(`s${i}`);
    });
    const byId = await rpc.bidi(Search.method.streamSearchByID, [{ id: "si-0", config: cfg(1) }, { id: "missing", config: cfg(1) }, { id: "si-3", config: cfg(1) }]);
    expect(byId.map((r) => (r.payload.case === "status" ? r.payload.value.code : r.payload.value?.results[0]?.id))).toEqual(["si-0", GrpcStatus.NOT_FOUND, "si-3"]);
    const lin = await rpc.bidi(Search.method.streamLinearSearch, [{ vector: v(13), config: cfg(1) }, { vector: v(13), config: cfg(0) }]);
    expect(lin.map((r) => (r.payload.case === "status" ? r.payload.value.code : r.payload.value?.results[0]?.id))).toEqual(["si-3", GrpcStatus.INVALID_ARGUMENT]);
    const linId = await rpc.bidi(Search.method.streamLinearSearchByID, [{ id: "si-3", config: cfg(1) }]);
    expect(linId[0]?.payload.case).toBe("response");
  });
});

describe("object", () => {
  test("Exists, GetObject, StreamGetObject with a missing id in the middle", async () => {
    expect((await rpc.unary(Object$.method.exists, { id: "si-0" })).id).toBe("si-0");
    expect(await code(rpc.unary(Object$.method.exists, { id: "missing" }))).toBe(GrpcStatus.NOT_FOUND);
    expect(await code(rpc.unary(Object$.method.exists, { id: "" }))).toBe(GrpcStatus.INVALID_ARGUMENT);
    const got = await rpc.unary(Object$.method.getObject, { id: { id: "si-0" } });
    expect(got.vector).toEqual(v(10));
    expect(got.timestamp).toBeGreaterThan(0n);
    const res = await rpc.bidi(Object$.method.streamGetObject, [{ id: { id: "si-0" } }, { id: { id: "missing" } }, { id: { id: "si-3" } }]);
    expect(res.map((r) => (r.payload.case === "status" ? r.payload.value.code : r.payload.value?.id))).toEqual(["si-0", GrpcStatus.NOT_FOUND, "si-3"]);
  });

  test("StreamListObject streams every stored vector", async () => {
    const info = await rpc.unary(Index.method.indexInfo, {});
    const all = await rpc.serverStream(Object$.method.streamListObject, {});
    expect(all.length).toBe(info.stored + info.uncommitted);
    const ids = all.map((r) => (r.payload.case === "vector" ? r.payload.value.id : ""));
    expect(ids).toContain("si-0");
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("remove", () => {
  test("Remove, MultiRemove (all or nothing on missing ids), StreamRemove with per-item status", async () => {
    await rpc.unary(M.multiInsert, { requests: [0, 1, 2, 3, 4].map((i) => ({ vector: { id: `rm-${i}`, vector: v(60 + i) } })) });
    expect((await rpc.unary(Remove.method.remove, { id: { id: "rm-0" } })).uuid).toBe("rm-0");
    expect(await code(rpc.unary(Remove.method.remove, { id: { id: "rm-0" } }))).toBe(GrpcStatus.NOT_FOUND);
    expect(await code(rpc.unary(Remove.method.remove, { id: { id: "" } }))).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(await code(rpc.unary(Remove.method.multiRemove, { requests: [{ id: { id: "rm-1" } }, { id: { id: "rm-0" } }] }))).toBe(GrpcStatus.NOT_FOUND);
    expect((await rpc.unary(Object$.method.exists, { id: "rm-1" })).id).toBe("rm-1");
    const multi = await rpc.unary(Remove.method.multiRemove, { requests: [{ id: { id: "rm-1" } }, { id: { id: "rm-2" } }] });
    expect(multi.locations.map((l) => l.uuid)).toEqual(["rm-1", "rm-2"]);
    const res = await rpc.bidi(Remove.method.streamRemove, [{ id: { id: "rm-3" } }, { id: { id: "rm-3" } }, { id: { id: "rm-4" } }]);
    expect(res.map((r) => (r.payload.case === "status" ? r.payload.value.code : r.payload.value?.uuid))).toEqual(["rm-3", GrpcStatus.NOT_FOUND, "rm-4"]);
  });

  test("RemoveByTimestamp applies the operators", async () => {
    await rpc.unary(M.multiInsert, {
      requests: [100n, 200n, 300n].map((t, i) => ({ vector: { id: `rbt-${t}`, vector: v(70 + i) }, config: { timestamp: t } })),
    });
    const res = await rpc.unary(Remove.method.removeByTimestamp, {
      timestamps: [
        { timestamp: 150n, operator: Remove_Timestamp_Operator.GE },
        { timestamp: 300n, operator: Remove_Timestamp_Operator.LT },
      ],
    });
    expect(res.locations.map((l) => l.uuid)).toEqual(["rbt-200"]);
    expect(await code(rpc.unary(Object$.method.exists, { id: "rbt-200" }))).toBe(GrpcStatus.NOT_FOUND);
    expect((await rpc.unary(Object$.method.exists, { id: "rbt-100" })).id).toBe("rbt-100");
    expect(
      await code(rpc.unary(Remove.method.removeByTimestamp, { timestamps: [{ timestamp: 1n, operator: Remove_Timestamp_Operator.LT }] })),
    ).toBe(GrpcStatus.NOT_FOUND);
  });
});

describe("RemoveByTimestamp over the wire, every operator", () => {
  // stamps 10100, 10200, 10300 per operator, compared with 10200: each operator removes a
  // different set, so a swapped GE/GT or LE/LT, or a flipped EQ/NE, fails. The range
  // conditions keep the other tests' vectors out of reach (and test GE/LE once more).
  const OP = Remove_Timestamp_Operator;
  const cases: [keyof typeof OP, number[]][] = [
    ["EQ", [10200]],
    ["NE", [10100, 10300]],
    ["GE", [10200, 10300]],
    ["GT", [10300]],
    ["LE", [10100, 10200]],
    ["LT", [10100]],
  ];
  for (const [name, removed] of cases) {
    test(`${name} 10200 removes ${removed.join(", ")}`, async () => {
      const stamps = [10100, 10200, 10300];
      await rpc.unary(M.multiInsert, {
        requests: stamps.map((t, i) => ({ vector: { id: `op-${name}-${t}`, vector: v(80 + i) }, config: { timestamp: BigInt(t) } })),
      });
      const res = await rpc.unary(Remove.method.removeByTimestamp, {
        timestamps: [
          { timestamp: 10200n, operator: OP[name] },
          { timestamp: 10100n, operator: OP.GE },
          { timestamp: 10300n, operator: OP.LE },
        ],
      });
      expect(res.locations.map((l) => l.uuid).sort()).toEqual(removed.map((t) => `op-${name}-${t}`));
      for (const t of stamps) {
        const held = await rpc.unary(Object$.method.exists, { id: `op-${name}-${t}` }).then(
          () => true,
          (e: ServiceError) => (e.code === GrpcStatus.NOT_FOUND ? false : Promise.reject(e)),
        );
        expect(held).toBe(!removed.includes(t));
      }
      // what was left keeps its timestamp
      const kept = stamps.find((t) => !removed.includes(t))!;
      expect((await rpc.unary(Object$.method.getTimestamp, { id: { id: `op-${name}-${kept}` } })).timestamp).toBe(BigInt(kept));
      await rpc.unary(Remove.method.removeByTimestamp, {
        timestamps: [{ timestamp: 10100n, operator: OP.GE }, { timestamp: 10300n, operator: OP.LE }],
      });
    });
  }
});

describe("index, agent control, filter, flush", () => {
  test("CreateIndex commits; IndexInfo, IndexDetail, IndexStatistics(Detail), IndexProperty", async () => {
    await rpc.unary(Agent.method.createIndex, { poolSize: 100 });
    const info = await rpc.unary(Agent.method.indexInfo, {});
    expect(info.uncommitted).toBe(0);
    expect(info.stored).toBeGreaterThan(5);
    expect(await rpc.unary(Index.method.indexInfo, {})).toEqual(info);
    const detail = await rpc.unary(Index.method.indexDetail, {});
    expect(detail.counts[agentName]?.stored).toBe(info.stored);
    expect([detail.replica, detail.liveAgents]).toEqual([1, 1]);
    const stats = await rpc.unary(Index.method.indexStatistics, {});
    expect(stats.valid).toBe(true);
    expect(stats.numberOfObjects).toBe(BigInt(info.stored));
    expect(stats.numberOfIndexedObjects).toBe(BigInt(info.stored));
    const statsDetail = await rpc.unary(Index.method.indexStatisticsDetail, {});
    expect(statsDetail.details[agentName]?.numberOfObjects).toBe(BigInt(info.stored));
    const prop = await rpc.unary(Index.method.indexProperty, {});
    expect(prop.details[agentName]).toMatchObject({ dimension: DIM, indexType: "hnsw", distanceType: "l2", objectType: "float", edgeSizeForCreation: 20, edgeSizeForSearch: 64 });
    await rpc.unary(Agent.method.saveIndex, {});
    await rpc.unary(Agent.method.createAndSaveIndex, { poolSize: 0 });
  });

  test("vald.v1.Filter is UNIMPLEMENTED with a reason", async () => {
    const e = await grpcError(rpc.unary(Filter.method.searchObject, { object: new Uint8Array([1]), config: cfg() }));
    expect(e.code).toBe(GrpcStatus.UNIMPLEMENTED);
    expect(e.details).toContain("vectorizer");
    const s = await grpcError(rpc.bidi(Filter.method.streamInsertObject, [{ object: { id: "x", object: new Uint8Array([1]) } }]));
    expect(s.code).toBe(GrpcStatus.UNIMPLEMENTED);
  });

  test("Flush removes everything and reports zero counts", async () => {
    const res = await rpc.unary(Flush.method.flush, {});
    expect([res.stored, res.uncommitted]).toEqual([0, 0]);
    expect(await code(rpc.unary(Search.method.search, { vector: v(1), config: cfg() }))).toBe(GrpcStatus.NOT_FOUND);
    expect((await rpc.serverStream(Object$.method.streamListObject, {})).length).toBe(0);
  });
});
