// One unary gRPC call as bytes in, bytes out: unwrap the request envelope, decode,
// run the method in-process (interceptors included), encode, wrap. Shared by the two
// places that skip Connect's generic handler pipeline for plain unary calls: HTTP/2
// streams (grpc-unary.ts) and the agent's end of the tunnel (tunnel/dispatch.ts).
import { toBinary, type DescMessage, type DescMethodUnary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { DirectTransport } from "./direct-transport";
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
  header: Headers;
  /** grpc-status 0 plus whatever the handler set */
  trailer: Headers;
  /** the response message in its envelope */
  body: Uint8Array;
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
  signal: AbortSignal,
  writeMaxBytes: number,
): Promise<UnaryAnswer> {
  const timeout = parseTimeout(header.get("grpc-timeout"), Number.MAX_SAFE_INTEGER);
  if (timeout.error) throw timeout.error;
  const res = await invokeUnaryMessage(transport, method, unwrapEnvelope(request, "request"), header, timeout.timeoutMs, signal, writeMaxBytes);
  // the call's own header and trailer objects: nothing else holds them once it returned
  res.header.set("content-type", GRPC_PROTO);
  res.trailer.set("grpc-status", "0");
  return { header: res.header, trailer: res.trailer, body: envelope(res.message) };
}

/** The same from the bare request message (no envelope) to the bare response message. */
export async function invokeUnaryMessage(
  transport: DirectTransport,
  method: DescMethodUnary<DescMessage, DescMessage>,
  message: Uint8Array,
  header: ConstructorParameters<typeof Headers>[0],
  timeoutMs: number | undefined,
  signal: AbortSignal,
  writeMaxBytes: number,
): Promise<{ header: Headers; trailer: Headers; message: Uint8Array }> {
  let input;
  try {
    input = decodeWithFloats(method.input, message);
  } catch (e) {
    throw undecodable(e);
  }
  const res = await transport.unary(method, signal, timeoutMs, header, input);
  const out = toBinary(method.output, res.message);
  if (out.byteLength > writeMaxBytes) {
    throw new ConnectError(`message size ${out.byteLength} is larger than configured writeMaxBytes ${writeMaxBytes}`, Code.ResourceExhausted);
  }
  return { header: res.header, trailer: res.trailer, message: out };
}
