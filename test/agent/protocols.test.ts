// The agent's one port speaks every flavour: Connect (JSON and binary, HTTP/1.1 and
// HTTP/2), gRPC-web the way browsers send it (fetch, HTTP/1.1) and gRPC (HTTP/2),
// with the same codes and rpc.v1 details on each.
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport as createNodeGrpcWebTransport } from "@connectrpc/connect-node";
import { createGrpcWebTransport as createFetchGrpcWebTransport } from "@connectrpc/connect-web";
import { Agent } from "../../src/gen/core/v1/agent_pb";
import { BadRequestSchema, ErrorInfoSchema, ResourceInfoSchema } from "../../src/gen/rpc/v1/error_details_pb";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { Object$ } from "../../src/gen/vald/v1/object_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { spawnAgent, vectors, type AgentProcess } from "./harness";

// Real processes on a shared 2-core box: start-up alone can take seconds under load.
setDefaultTimeout(30_000);

const DIM = 4;
let agent: AgentProcess;

beforeAll(async () => {
  agent = await spawnAgent({ dimension: DIM, args: ["--name", "agent-protocols"] });
});

afterAll(async () => {
  expect(await agent?.stop()).toBe(0);
});

const flavours: [string, () => Transport][] = [
  ["Connect JSON over HTTP/1.1", () => createConnectTransport({ baseUrl: agent.baseUrl, httpVersion: "1.1", useBinaryFormat: false })],
  ["Connect binary over HTTP/1.1", () => createConnectTransport({ baseUrl: agent.baseUrl, httpVersion: "1.1", useBinaryFormat: true })],
  ["Connect JSON over HTTP/2", () => createConnectTransport({ baseUrl: agent.baseUrl, httpVersion: "2", useBinaryFormat: false })],
  ["gRPC-web over fetch (browser style)", () => createFetchGrpcWebTransport({ baseUrl: agent.baseUrl })],
  ["gRPC-web over HTTP/1.1 (node)", () => createNodeGrpcWebTransport({ baseUrl: agent.baseUrl, httpVersion: "1.1" })],
  ["gRPC over HTTP/2 (connect-node)", () => createGrpcTransport({ baseUrl: agent.baseUrl })],
];

describe.each(flavours)("%s", (name, transport) => {
  const tag = name.replace(/\W+/g, "-");
  const vec = vectors(3, DIM, [...tag].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 7));

  test("insert, exists, search, index info", async () => {
    const t = transport();
    const insert = createClient(Insert, t);
    const loc = await insert.insert({ vector: { id: `${tag}-a`, vector: vec[0]! }, config: { timestamp: 42n } });
    expect(loc).toMatchObject({ name: "agent-protocols", uuid: `${tag}-a` });
    await insert.multiInsert({ requests: [1, 2].map((i) => ({ vector: { id: `${tag}-${i}`, vector: vec[i]! } })) });
    const obj = createClient(Object$, t);
    expect((await obj.getObject({ id: { id: `${tag}-a` } })).timestamp).toBe(42n);
    const res = await createClient(Search, t).search({ vector: vec[0]!, config: { num: 1, requestId: tag } });
    expect(res.requestId).toBe(tag);
    expect(res.results[0]?.id).toBe(`${tag}-a`);
    const info = await createClient(Agent, t).indexInfo({});
    expect(info.stored + info.uncommitted).toBeGreaterThanOrEqual(3);
  });

  test("errors keep their code and rpc.v1 details", async () => {
    const insert = createClient(Insert, transport());
    const err = await insert.insert({ vector: { id: `${tag}-bad`, vector: [1, 2, 3] } }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field).toBe("vector.vector");
    expect(err?.findDetails(ErrorInfoSchema)[0]?.reason).toBe("INVALID_DIMENSION");
    expect(err?.findDetails(ResourceInfoSchema)[0]?.resourceName).toBe("agent-protocols");
    const missing = await createClient(Object$, transport())
      .exists({ id: `${tag}-missing` })
      .then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    expect(missing?.code).toBe(Code.NotFound);
  });
});

test("server streaming (StreamListObject) over Connect HTTP/1.1 and gRPC-web", async () => {
  for (const t of [flavours[0]![1](), flavours[3]![1]()]) {
    let n = 0;
    for await (const r of createClient(Object$, t).streamListObject({})) {
      expect(r.payload.case).toBe("vector");
      n++;
    }
    const info = await createClient(Agent, t).indexInfo({});
    expect(n).toBe(info.stored + info.uncommitted);
  }
});

test("bidi streaming over HTTP/2 Connect: per-item status, stream continues", async () => {
  const t = createConnectTransport({ baseUrl: agent.baseUrl, httpVersion: "2" });
  const vec = vectors(2, DIM, 99);
  async function* reqs() {
    yield { vector: { id: "bidi-a", vector: vec[0]! } };
    yield { vector: { id: "bidi-b", vector: [1] } };
    yield { vector: { id: "bidi-c", vector: vec[1]! } };
  }
  const out: (string | number)[] = [];
  for await (const r of createClient(Insert, t).streamInsert(reqs())) {
    out.push(r.payload.case === "location" ? r.payload.value.uuid : (r.payload.value?.code ?? -1));
  }
  expect(out).toEqual(["bidi-a", Code.InvalidArgument, "bidi-c"]);
});

test("CORS preflight for browsers on the agent port", async () => {
  const r = await fetch(`${agent.baseUrl}/vald.v1.Search/Search`, {
    method: "OPTIONS",
    headers: { origin: "http://example.test", "access-control-request-method": "POST" },
  });
  expect(r.status).toBe(204);
  expect(r.headers.get("access-control-allow-origin")).toBe("*");
});
