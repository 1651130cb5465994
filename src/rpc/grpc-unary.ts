// The hot path: unary gRPC calls over HTTP/2 (every Vald client's Search, Insert, …)
// served straight from the HTTP/2 stream. Connect's generic handler runs each call
// through a pipeline of async iterables (envelope split, parse, invoke, serialize,
// join), web Headers and the node:http2 compatibility objects; for a one-message call
// that machinery cost more CPU than the vector search itself. Here a call is: read the
// body, unwrap the one envelope, decode, run the method (interceptors included) through
// the in-process transport, encode, respond, send the status as trailers.
//
// Only plain unary calls take this path: protobuf (not JSON) bodies without
// compression. Everything else (streams, gRPC-web, Connect, gzip, unknown paths) falls
// through to Connect unchanged, so behaviour is Connect's wherever this path declines.
import { fromBinary, toBinary, type DescMethodUnary, type DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { createDirectTransport, type DirectTransport } from "./direct-transport";
import { headerBlock, webHeaders } from "./h2-adapter";

export interface GrpcUnaryOptions {
  routes: (router: ConnectRouter) => void;
  interceptors?: Interceptor[];
  readMaxBytes: number;
  writeMaxBytes: number;
}

/** Returns true when it took the stream; false leaves it to the caller (Connect). */
export type StreamHandler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => boolean;

const CONTENT_TYPES = new Set(["application/grpc", "application/grpc+proto"]);

function errorTrailers(e: unknown): Record<string, string | number> {
  return headerBlock(setTrailerStatus(new Headers(), ConnectError.from(e, Code.Internal)));
}

function envelope(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + body.byteLength);
  new DataView(out.buffer).setUint32(1, body.byteLength);
  out.set(body, 5);
  return out;
}

export function grpcUnaryHandler(opts: GrpcUnaryOptions): StreamHandler {
  const transport = createDirectTransport(opts.routes, opts.interceptors);
  const methods = transport.unaryMethods;

  return (stream, headers) => {
    if (headers[":method"] !== "POST") return false;
    const method = methods.get(headers[":path"] ?? "");
    if (method === undefined) return false;
    const ct = headers["content-type"];
    if (ct === undefined || !CONTENT_TYPES.has(ct)) return false;
    const enc = headers["grpc-encoding"];
    if (enc !== undefined && enc !== "identity") return false;
    void serve(stream, headers, method, transport, opts);
    return true;
  };
}

async function serve(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  method: DescMethodUnary<DescMessage, DescMessage>,
  transport: DirectTransport,
  opts: GrpcUnaryOptions,
): Promise<void> {
  const gone = new AbortController();
  const onClose = () => gone.abort(new ConnectError("client closed the stream", Code.Canceled));
  stream.once("close", onClose);
  let responded = false;
  const fail = (e: unknown) => {
    if (stream.destroyed || stream.closed) return;
    if (responded) {
      stream.close(0x2 /* INTERNAL_ERROR */);
      return;
    }
    responded = true;
    // trailers-only response: the status travels in the one HEADERS frame
    stream.respond({ ":status": 200, "content-type": "application/grpc+proto", ...errorTrailers(e) }, { endStream: true });
  };
  try {
    const body = await readBody(stream, opts.readMaxBytes);
    const timeout = parseTimeout((headers["grpc-timeout"] as string | undefined) ?? null, Number.MAX_SAFE_INTEGER);
    if (timeout.error) throw timeout.error;
    if (body.byteLength < 5) throw new ConnectError("protocol error: missing message envelope", Code.Internal);
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    if ((body[0]! & 0b1) !== 0) throw new ConnectError("protocol error: compressed message without grpc-encoding", Code.Internal);
    const len = view.getUint32(1);
    if (5 + len !== body.byteLength) throw new ConnectError("protocol error: unary request must hold exactly one message", Code.Internal);
    let input;
    try {
      input = fromBinary(method.input, body.subarray(5));
    } catch (e) {
      throw new ConnectError(`parse binary: ${(e as Error).message}`, Code.Internal);
    }
    const res = await transport.unary(method, gone.signal, timeout.timeoutMs, webHeaders(headers), input);
    const out = toBinary(method.output, res.message);
    if (out.byteLength > opts.writeMaxBytes) {
      throw new ConnectError(`message size ${out.byteLength} is larger than configured writeMaxBytes ${opts.writeMaxBytes}`, Code.ResourceExhausted);
    }
    if (stream.destroyed || stream.closed) return;
    const head = headerBlock(res.header, { ":status": 200, "content-type": "application/grpc+proto" });
    const trailers = headerBlock(res.trailer, { "grpc-status": "0" });
    responded = true;
    stream.respond(head, { waitForTrailers: true });
    stream.once("wantTrailers", () => stream.sendTrailers(trailers));
    stream.end(envelope(out));
  } catch (e) {
    fail(e);
  } finally {
    stream.off("close", onClose);
  }
}

function readBody(stream: ServerHttp2Stream, max: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.byteLength;
      if (size > max + 5) {
        cleanup();
        reject(new ConnectError(`message size is larger than configured readMaxBytes ${max}`, Code.ResourceExhausted));
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (e: Error) => {
      cleanup();
      reject(ConnectError.from(e, Code.Canceled));
    };
    const cleanup = () => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onError);
    };
    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("error", onError);
  });
}
