// One unary gRPC call as bytes in, bytes out: unwrap the request envelope, decode,
// run the method in-process (interceptors included), encode, wrap. Shared by the two
// places that skip Connect's generic handler pipeline for plain unary calls: HTTP/2
// streams (grpc-unary.ts) and the agent's end of the tunnel (tunnel/dispatch.ts).
import { toBinary, type DescMessage, type DescMethodUnary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { CallCancel } from "./call-context";
import { responseMetadata, type DirectTransport } from "./direct-transport";
import { envelope, unwrapEnvelope } from "./envelope";
import { decodeWithFloats } from "./wire-floats";

/** A request that is not valid protobuf for its method: the client's mistake. */
export function undecodable(e: unknown): ConnectError {
  return new ConnectError(`cannot decode the request message: ${(e as Error).message}`, Code.InvalidArgument);
}

export const GRPC_PROTO = "application/grpc+proto";
const PLAIN_CONTENT_TYPES = new Set(["application/grpc", GRPC_PROTO]);

/** A call this path can take: binary gRPC without message compression. */
export function isPlainGrpc(contentType: string | null | undefined, encoding: string | null | undefined): boolean {
  return contentType != null && PLAIN_CONTENT_TYPES.has(contentType) && (encoding == null || encoding === "identity");
}

export interface UnaryAnswer {
  /** what the handler set; undefined: nothing (content-type goes out regardless) */
  header: Headers | undefined;
  /** what the handler set; undefined: nothing (grpc-status 0 goes out regardless) */
  trailer: Headers | undefined;
  /** the response message in its envelope */
  body: Uint8Array;
}

/** The head of a successful unary answer: content-type over whatever the handler set. */
export function answerHeader(set: Headers | undefined): Headers {
  const h = new Headers(set);
  h.set("content-type", GRPC_PROTO);
  return h;
}

/** The trailers of a successful unary answer: grpc-status 0 over whatever the handler set. */
export function answerTrailer(set: Headers | undefined): Headers {
  const t = new Headers(set);
  t.set("grpc-status", "0");
  return t;
}

/** The status of a failed call as gRPC trailers (grpc-status, grpc-message, details). */
export function statusTrailers(e: unknown): Headers {
  return setTrailerStatus(new Headers(), ConnectError.from(e, Code.Internal));
}


/** Throws ConnectError for anything wrong, from the envelope to the handler's own errors. */
export async function invokeUnary(
  transport: DirectTransport,
  method: DescMethodUnary<DescMessage, DescMessage>,
  request: Uint8Array,
  header: Headers,
  signal: AbortSignal | CallCancel,
  writeMaxBytes: number,
): Promise<UnaryAnswer> {
  const timeout = parseTimeout(header.get("grpc-timeout"), Number.MAX_SAFE_INTEGER);
  if (timeout.error) throw timeout.error;
  const res = await invokeUnaryMessage(transport, method, unwrapEnvelope(request, "request"), header, timeout.timeoutMs, signal, writeMaxBytes);
  return { header: res.header, trailer: res.trailer, body: envelope(res.message) };
}

/** The same from the bare request message (no envelope) to the bare response message. */
export async function invokeUnaryMessage(
  transport: DirectTransport,
  method: DescMethodUnary<DescMessage, DescMessage>,
  message: Uint8Array,
  header: ConstructorParameters<typeof Headers>[0],
  timeoutMs: number | undefined,
  signal: AbortSignal | CallCancel,
  writeMaxBytes: number,
): Promise<{ header: Headers | undefined; trailer: Headers | undefined; message: Uint8Array }> {
  let input;
  try {
    input = decodeWithFloats(method.input, message, transport.floatsFor(method));
  } catch (e) {
    throw undecodable(e);
  }
  const res = await transport.unary(method, signal, timeoutMs, header, input);
  const out = toBinary(method.output, res.message);
  if (out.byteLength > writeMaxBytes) {
    throw new ConnectError(`message size ${out.byteLength} is larger than configured writeMaxBytes ${writeMaxBytes}`, Code.ResourceExhausted);
  }
  return { ...responseMetadata(res), message: out };
}
