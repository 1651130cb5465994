// The gRPC length-prefixed message envelope (1 flag byte, 4-byte big-endian length)
// for calls that carry exactly one uncompressed message: both unary fast paths
// (HTTP/2 streams, tunnel) and the tunnel's caller side.
import { Code, ConnectError } from "@connectrpc/connect";

export const ENVELOPE_HEADER_BYTES = 5;

// Lengths are written and read byte by byte: a DataView needs the array's .buffer,
// and asking a fresh typed array for it makes the engine build an ArrayBuffer object.
export function envelope(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(ENVELOPE_HEADER_BYTES + message.byteLength);
  const n = message.byteLength;
  out[1] = n >>> 24;
  out[2] = (n >>> 16) & 0xff;
  out[3] = (n >>> 8) & 0xff;
  out[4] = n & 0xff;
  out.set(message, ENVELOPE_HEADER_BYTES);
  return out;
}

/**
 * The one message in `body`. A malformed request is the client's mistake
 * (InvalidArgument); a malformed response is ours or the peer's (Internal).
 */
export function unwrapEnvelope(body: Uint8Array, what: "request" | "response"): Uint8Array {
  const code = what === "request" ? Code.InvalidArgument : Code.Internal;
  if (body.byteLength < ENVELOPE_HEADER_BYTES) throw new ConnectError(`protocol error: ${what} without a message envelope`, code);
  if ((body[0]! & 0b1) !== 0) throw new ConnectError(`protocol error: compressed ${what} without grpc-encoding`, code);
  const len = ((body[1]! << 24) | (body[2]! << 16) | (body[3]! << 8) | body[4]!) >>> 0;
  if (ENVELOPE_HEADER_BYTES + len !== body.byteLength) throw new ConnectError(`protocol error: unary ${what} must hold exactly one message`, code);
  return body.subarray(ENVELOPE_HEADER_BYTES);
}
