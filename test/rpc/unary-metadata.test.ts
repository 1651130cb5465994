// The plain-gRPC unary path (src/rpc/grpc-unary.ts) answers with content-type and
// grpc-status 0 itself and builds no Headers when a handler sets none; what a handler
// (or an interceptor) does set must still reach the client, on that path and over
// Connect's, and a handler cannot override content-type or grpc-status.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import { Search_RequestSchema, Search_ResponseSchema } from "../../src/gen/payload/v1/payload_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { listenRpc, type RpcListener } from "../../src/rpc/listen";
import { log } from "../gateway/cluster";

let server: RpcListener;

// the request id picks what the handler sets
const stamp: Interceptor = (next) => async (req) => {
  const res = await next(req);
  if ((req.message as { config?: { requestId?: string } }).config?.requestId === "intercepted") res.header.set("x-interceptor", "yes");
  return res;
};

beforeAll(async () => {
  server = await listenRpc({
    host: "127.0.0.1",
    port: 0,
    log,
    routes: (router) =>
      router.service(
        Search,
        {
          search(req, ctx) {
            const id = req.config?.requestId ?? "";
            if (id === "both") {
              ctx.responseHeader.set("x-head", "h1");
              ctx.responseTrailer.set("x-tail", "t1");
            }
            if (id === "override") {
              ctx.responseHeader.set("content-type", "text/plain");
              ctx.responseTrailer.set("grpc-status", "13");
            }
            return create(Search_ResponseSchema, { requestId: id, results: [{ id: "a", distance: 1 }] });
          },
        },
        { interceptors: [stamp] },
      ),
  });
});

afterAll(async () => {
  await server?.close(100);
});

function envelope(m: Uint8Array): Buffer {
  const b = Buffer.alloc(5 + m.length);
  b.writeUInt32BE(m.length, 1);
  b.set(m, 5);
  return b;
}

function call(requestId: string): Promise<{ headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${server.port}`);
    session.on("error", reject);
    const req = session.request({ ":method": "POST", ":path": "/vald.v1.Search/Search", "content-type": "application/grpc", te: "trailers" });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const out: Buffer[] = [];
    req.on("response", (h) => (headers = h));
    req.on("trailers", (t) => (trailers = t));
    req.on("data", (c: Buffer) => out.push(c));
    req.on("end", () => {
      session.close();
      resolve({ headers, trailers, body: Buffer.concat(out) });
    });
    req.on("error", reject);
    req.end(envelope(toBinary(Search_RequestSchema, create(Search_RequestSchema, { vector: [1, 2], config: { num: 1, requestId } }))));
  });
}

describe("unary response metadata on the plain gRPC path", () => {
  test("a handler that sets nothing: content-type and grpc-status 0 only", async () => {
    const r = await call("plain");
    expect(Number(r.headers[":status"])).toBe(200);
    expect(r.headers["content-type"]).toBe("application/grpc+proto");
    expect(r.trailers["grpc-status"]).toBe("0");
    expect(Object.keys(r.headers).filter((k) => k.startsWith("x-"))).toEqual([]);
    expect(r.body.length).toBeGreaterThan(5);
  });

  test("what the handler sets reaches the client", async () => {
    const r = await call("both");
    expect(r.headers["x-head"]).toBe("h1");
    expect(r.trailers["x-tail"]).toBe("t1");
    expect(r.trailers["grpc-status"]).toBe("0");
  });

  test("what an interceptor sets on the response reaches the client", async () => {
    const r = await call("intercepted");
    expect(r.headers["x-interceptor"]).toBe("yes");
    expect(r.headers["content-type"]).toBe("application/grpc+proto");
  });

  test("a handler cannot override content-type or grpc-status", async () => {
    const r = await call("override");
    expect(r.headers["content-type"]).toBe("application/grpc+proto");
    expect(r.trailers["grpc-status"]).toBe("0");
  });
});
