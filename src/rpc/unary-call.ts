// One unary gRPC call as bytes in, bytes out: unwrap the request envelope, decode,
// run the method in-process (interceptors included), encode, wrap. Shared by the two
// places that skip Connect's generic handler pipeline for plain unary calls: HTTP/2
// streams (grpc-unary.ts) and the agent's end of the tunnel (tunnel/dispatch.ts).
import { fromBinary, toBinary, type DescMessage, type DescMethodUnary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { DirectTransport } from "./direct-transport";

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

function envelope(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + message.byteLength);
  new DataView(out.buffer).setUint32(1, message.byteLength);
  out.set(message, 5);
  return out;
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
  if (request.byteLength < 5) throw new ConnectError("protocol error: missing message envelope", Code.Internal);
  if ((request[0]! & 0b1) !== 0) throw new ConnectError("protocol error: compressed message without grpc-encoding", Code.Internal);
  const len = new DataView(request.buffer, request.byteOffset, request.byteLength).getUint32(1);
  if (5 + len !== request.byteLength) throw new ConnectError("protocol error: unary request must hold exactly one message", Code.Internal);
  let input;
  try {
    input = fromBinary(method.input, request.subarray(5));
  } catch (e) {
    throw new ConnectError(`parse binary: ${(e as Error).message}`, Code.Internal);
  }
  const res = await transport.unary(method, signal, timeout.timeoutMs, header, input);
  const out = toBinary(method.output, res.message);
  if (out.byteLength > writeMaxBytes) {
    throw new ConnectError(`message size ${out.byteLength} is larger than configured writeMaxBytes ${writeMaxBytes}`, Code.ResourceExhausted);
  }
  const header2 = new Headers(res.header);
  header2.set("content-type", GRPC_PROTO);
  const trailer = new Headers(res.trailer);
  trailer.set("grpc-status", "0");
  return { header: header2, trailer, body: envelope(out) };
}
