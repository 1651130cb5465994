// The gRPC length-prefixed message envelope (1 flag byte, 4-byte big-endian length)
// for calls that carry exactly one uncompressed message: both unary fast paths
// (HTTP/2 streams, tunnel) and the tunnel's caller side.
import { Code, ConnectError } from "@connectrpc/connect";

export const ENVELOPE_HEADER_BYTES = 5;

// Lengths are read byte by byte: a DataView needs the array's .buffer, and asking a
// fresh typed array for it makes the engine build an ArrayBuffer object.
export function envelope(message: Uint8Array): Uint8Array {
  const n = message.byteLength;
  // A Buffer, not a fresh Uint8Array: a stream's write() turns a Uint8Array into a Buffer
  // through its `.buffer`, which the engine then builds after the fact; paid per message
  // on a stream. allocUnsafe: every byte is written below.
  const out = Buffer.allocUnsafe(ENVELOPE_HEADER_BYTES + n);
  out[0] = 0;
  out.writeUInt32BE(n, 1);
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
