// HTTP/2 calls take one of two paths on the server: plain unary gRPC is served from the
// stream directly (src/rpc/grpc-unary.ts), everything else by Connect's handlers
// (src/rpc/h2-adapter.ts). Both must give the same answers and errors, and the fast
// path must refuse malformed envelopes with a gRPC status instead of hanging or crashing.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import * as http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { compressionGzip, createGrpcTransport } from "@connectrpc/connect-node";
import { Search_RequestSchema } from "../../src/gen/payload/v1/payload_pb";
import { ErrorInfoSchema } from "../../src/gen/rpc/v1/error_details_pb";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { spawnAgent, vectors, type AgentProcess } from "../agent/harness";

setDefaultTimeout(30_000);

const DIM = 8;
let agent: AgentProcess;
const vecs = vectors(20, DIM, 5);

beforeAll(async () => {
  agent = await spawnAgent({ dimension: DIM, args: ["--name", "agent-h2"] });
  await createClient(Insert, createGrpcTransport({ baseUrl: agent.baseUrl })).multiInsert({
    requests: vecs.map((v, i) => ({ vector: { id: `v${i}`, vector: v } })),
  });
});

afterAll(async () => {
  expect(await agent?.stop()).toBe(0);
});

/** One raw gRPC call: returns the HTTP status, the grpc-status (header or trailer) and the body. */
function rawCall(path: string, body: Uint8Array, headers: Record<string, string> = {}): Promise<{ status: number; grpcStatus?: string; grpcMessage?: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(agent.baseUrl);
    session.on("error", reject);
    const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...headers });
    const out: Buffer[] = [];
    let status = 0;
    let grpcStatus: string | undefined;
    let grpcMessage: string | undefined;
    req.on("response", (h) => {
      status = Number(h[":status"]);
      grpcStatus = h["grpc-status"] as string | undefined;
      grpcMessage = h["grpc-message"] as string | undefined;
    });
    req.on("trailers", (t) => {
      grpcStatus = (t["grpc-status"] as string | undefined) ?? grpcStatus;
      grpcMessage = (t["grpc-message"] as string | undefined) ?? grpcMessage;
    });
    req.on("data", (c: Buffer) => out.push(c));
    req.on("end", () => {
      session.close();
      resolve({ status, grpcStatus, grpcMessage, body: Buffer.concat(out) });
    });
    req.on("error", reject);
    req.end(body);
  });
}

function frame(msg: Uint8Array, flags = 0): Uint8Array {
  const out = new Uint8Array(5 + msg.byteLength);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, msg.byteLength);
  out.set(msg, 5);
  return out;
}

const searchBytes = () => toBinary(Search_RequestSchema, create(Search_RequestSchema, { vector: vecs[3]!, config: { num: 3 } }));

describe("unary gRPC: the stream path and Connect's path agree", () => {
  test("same search answer with and without request compression", async () => {
    const plain = createClient(Search, createGrpcTransport({ baseUrl: agent.baseUrl }));
    // gzip-compressed requests are not taken by the fast path
    const gzip = createClient(Search, createGrpcTransport({ baseUrl: agent.baseUrl, sendCompression: compressionGzip, compressMinBytes: 0 }));
    const req = { vector: vecs[3]!, config: { num: 3, requestId: "same" } };
    const [a, b] = await Promise.all([plain.search(req), gzip.search(req)]);
    expect(a.results.map((r) => r.id)).toEqual(b.results.map((r) => r.id));
    expect(a.results[0]?.id).toBe("v3");
    expect(a.requestId).toBe("same");
    expect(b.requestId).toBe("same");
  });

  test("same error code and details on both paths", async () => {
    const errs = await Promise.all(
      [createGrpcTransport({ baseUrl: agent.baseUrl }), createGrpcTransport({ baseUrl: agent.baseUrl, sendCompression: compressionGzip, compressMinBytes: 0 })].map((t) =>
        createClient(Insert, t)
          .insert({ vector: { id: "v1", vector: vecs[1]! } })
          .then(() => undefined, (e: unknown) => ConnectError.from(e)),
      ),
    );
    for (const e of errs) {
      expect(e?.code).toBe(Code.AlreadyExists);
      expect(e?.findDetails(ErrorInfoSchema)[0]?.reason).toBeTruthy();
    }
    expect(errs[0]?.findDetails(ErrorInfoSchema)[0]?.reason).toBe(errs[1]?.findDetails(ErrorInfoSchema)[0]?.reason);
  });
});

describe("the stream path refuses bad envelopes with a status", () => {
  test("a well-formed raw call answers with grpc-status 0 in the trailers", async () => {
    const r = await rawCall("/vald.v1.Search/Search", frame(searchBytes()));
    expect(r.status).toBe(200);
    expect(r.grpcStatus).toBe("0");
    expect(r.body.byteLength).toBeGreaterThan(5);
  });

  // a malformed request is the client's mistake: INVALID_ARGUMENT, never INTERNAL
  test("compressed flag without grpc-encoding → INVALID_ARGUMENT", async () => {
    const r = await rawCall("/vald.v1.Search/Search", frame(searchBytes(), 1));
    expect(r.grpcStatus).toBe(String(Code.InvalidArgument));
  });

  test("two messages in a unary call → INVALID_ARGUMENT", async () => {
    const one = frame(searchBytes());
    const two = new Uint8Array(one.byteLength * 2);
    two.set(one);
    two.set(one, one.byteLength);
    const r = await rawCall("/vald.v1.Search/Search", two);
    expect(r.grpcStatus).toBe(String(Code.InvalidArgument));
  });

  test("a truncated envelope or an empty body → INVALID_ARGUMENT", async () => {
    expect((await rawCall("/vald.v1.Search/Search", frame(searchBytes()).subarray(0, 20))).grpcStatus).toBe(String(Code.InvalidArgument));
    expect((await rawCall("/vald.v1.Search/Search", new Uint8Array(0))).grpcStatus).toBe(String(Code.InvalidArgument));
  });

  test("bytes that are not a Search.Request → INVALID_ARGUMENT, and the server still answers after", async () => {
    const r = await rawCall("/vald.v1.Search/Search", frame(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff])));
    expect(r.grpcStatus).toBe(String(Code.InvalidArgument));
    const ok = await rawCall("/vald.v1.Search/Search", frame(searchBytes()));
    expect(ok.grpcStatus).toBe("0");
  });

  test("a bad grpc-timeout → INVALID_ARGUMENT, not a hang", async () => {
    const r = await rawCall("/vald.v1.Search/Search", frame(searchBytes()), { "grpc-timeout": "soon" });
    expect(r.grpcStatus).toBe(String(Code.InvalidArgument));
  });

  test("an unknown method is UNIMPLEMENTED for grpc-js", async () => {
    const client = new grpc.Client(agent.address, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      client.makeUnaryRequest("/vald.v1.Nope/Nope", (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (e) => resolve(e!)),
    );
    client.close();
    expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
  });

  test("grpc-js reads error messages as written: no percent-escapes left in them, on the unary path and on streams", async () => {
    const client = new grpc.Client(agent.address, grpc.credentials.createInsecure());
    // a search on a dimension the agent does not have: the message has ':', '/' and digits
    const bad = toBinary(Search_RequestSchema, create(Search_RequestSchema, { vector: [1, 2], config: { num: 1 } }));
    const unary = await new Promise<grpc.ServiceError>((resolve) =>
      client.makeUnaryRequest("/vald.v1.Search/Search", (b: Uint8Array) => Buffer.from(b), (b: Buffer) => b, bad, (e) => resolve(e!)),
    );
    const stream = client.makeBidiStreamRequest("/vald.v1.Insert/StreamInsert", (b: Uint8Array) => Buffer.from(b), (b: Buffer) => b);
    stream.on("data", () => undefined);
    const streamErr = new Promise<grpc.ServiceError>((resolve) => stream.on("error", resolve));
    stream.write(Buffer.from([0xff, 0xff, 0xff]));
    stream.end();
    const e = await streamErr;
    client.close();
    expect(unary.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(unary.details).toContain("dimension");
    expect(unary.details).not.toMatch(/%[0-9A-F]{2}/);
    expect(e.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(e.details).toContain("cannot decode the request message: ");
    expect(e.details).not.toMatch(/%[0-9A-F]{2}/);
  });

  test("calls cancelled by the client leave the server serving", async () => {
    const client = new grpc.Client(agent.address, grpc.credentials.createInsecure());
    const codes = await Promise.all(
      Array.from({ length: 20 }, () =>
        new Promise<number>((resolve) => {
          const call = client.makeUnaryRequest("/vald.v1.Search/Search", (b: Uint8Array) => Buffer.from(b), (b: Buffer) => b, searchBytes(), (e) => resolve(e ? e.code : 0));
          call.cancel();
        })),
    );
    client.close();
    expect(codes.every((c) => c === grpc.status.CANCELLED)).toBe(true);
    const res = await createClient(Search, createGrpcTransport({ baseUrl: agent.baseUrl })).search({ vector: vecs[7]!, config: { num: 1 } });
    expect(res.results[0]?.id).toBe("v7");
  });
});
