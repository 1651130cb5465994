// The hot path: unary gRPC calls over HTTP/2 (every Vald client's Search, Insert, …)
// served straight from the HTTP/2 stream. Connect's generic handler runs each call
// through a pipeline of async iterables (envelope split, parse, invoke, serialize,
// join), web Headers and the node:http2 compatibility objects; for a one-message call
// that machinery cost more CPU than the vector search itself. Here a call is: read the
// body, run it through invokeUnary (unary-call.ts), respond, send the status as trailers.
//
// Streaming calls take the same road through grpc-stream.ts. Only plain gRPC takes it:
// protobuf (not JSON) bodies without message compression. Everything else (gRPC-web,
// Connect, gzip, unknown paths) falls through to Connect unchanged, so behaviour is
// Connect's wherever this path declines.
import type { DescMessage, DescMethodUnary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { CallCancel } from "./call-context";
import { createDirectTransport, type DirectTransport, type FloatPlacement } from "./direct-transport";
import { ENVELOPE_HEADER_BYTES } from "./envelope";
import { serveStream } from "./grpc-stream";
import { headerBlock, stopReading } from "./h2-adapter";
import { GRPC_PROTO, invokeUnary, isPlainGrpc, statusTrailers } from "./unary-call";

export interface GrpcUnaryOptions {
  routes: (router: ConnectRouter) => void;
  /** where request vectors are decoded to, per method */
  floats?: FloatPlacement;
  readMaxBytes: number;
  writeMaxBytes: number;
}

/**
 * Returns true when it took the stream; false leaves it to the caller (Connect).
 * `header` is the request's headers as web Headers; `refusal` is the listener's
 * verdict (guard.ts): a call it refuses is answered with that status, body unread.
 */
export type StreamHandler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, header: Headers, refusal: ConnectError | undefined) => boolean;

export function grpcUnaryHandler(opts: GrpcUnaryOptions): StreamHandler {
  const transport = createDirectTransport(opts.routes, [], opts.floats);
  const methods = transport.unaryMethods;
  const streaming = transport.streamMethods;

  return (stream, headers, header, refusal) => {
    if (headers[":method"] !== "POST") return false;
    const path = headers[":path"] ?? "";
    const method = methods.get(path);
    const streamMethod = method === undefined ? streaming.get(path) : undefined;
    if (method === undefined && streamMethod === undefined) return false;
    if (!isPlainGrpc(headers["content-type"], headers["grpc-encoding"] as string | undefined)) return false;
    if (refusal) respondStatus(stream, refusal);
    else if (method !== undefined) void serve(stream, header, method, transport, opts);
    else void serveStream(stream, header, streamMethod!, transport, opts);
    return true;
  };
}

/** trailers-only response: the status travels in the one HEADERS frame */
function respondStatus(stream: ServerHttp2Stream, e: unknown): void {
  if (stream.destroyed || stream.closed) return;
  stream.respond(headerBlock(statusTrailers(e), { ":status": 200, "content-type": GRPC_PROTO }), { endStream: true });
  stopReading(stream);
}

/**
 * The whole request body. Events, not an async iterator: a unary body is one or two
 * chunks, and the iterator's promise per chunk cost more than the search's decode. A
 * message whose envelope announces more than `maxMessage` bytes is refused at once,
 * before the rest is read, and without destroying the stream (its status must go out).
 */
function readBody(stream: ServerHttp2Stream, maxMessage: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (e?: ConnectError) => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onError);
      if (e) reject(e);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const tooBig = () => new ConnectError(`request message is larger than ${maxMessage} bytes (--max-message-size)`, Code.ResourceExhausted);
    const onData = (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      const declared = size >= ENVELOPE_HEADER_BYTES ? (chunks[0]!.length >= ENVELOPE_HEADER_BYTES ? chunks[0]!.readUInt32BE(1) : Buffer.concat(chunks).readUInt32BE(1)) : 0;
      if (declared > maxMessage || size > maxMessage + ENVELOPE_HEADER_BYTES) done(tooBig());
    };
    const onEnd = () => done();
    const onError = (e: Error) => done(ConnectError.from(e, Code.Canceled));
    stream.on("data", onData);
    stream.once("end", onEnd);
    stream.once("error", onError);
  });
}

async function serve(
  stream: ServerHttp2Stream,
  header: Headers,
  method: DescMethodUnary<DescMessage, DescMessage>,
  transport: DirectTransport,
  opts: GrpcUnaryOptions,
): Promise<void> {
  const gone = new CallCancel();
  const onClose = () => gone.cancel(new ConnectError("client closed the stream", Code.Canceled));
  stream.once("close", onClose);
  try {
    const body = await readBody(stream, opts.readMaxBytes);
    const answer = await invokeUnary(transport, method, body, header, gone, opts.writeMaxBytes);
    if (stream.destroyed || stream.closed) return;
    // written after the handler's own, so content-type and grpc-status are always ours
    const trailers = headerBlock(answer.trailer);
    trailers["grpc-status"] = "0";
    const head = headerBlock(answer.header, { ":status": 200 });
    head["content-type"] = GRPC_PROTO;
    stream.respond(head, { waitForTrailers: true });
    stream.once("wantTrailers", () => stream.sendTrailers(trailers));
    stream.end(answer.body);
  } catch (e) {
    respondStatus(stream, e);
  } finally {
    stream.off("close", onClose);
  }
}
