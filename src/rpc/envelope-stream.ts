// Cuts a streaming gRPC request body into its messages as the chunks arrive. A message
// that lies inside one chunk is handed on as a view of it; only one that straddles a
// chunk boundary is copied, once, into a buffer of its own size. Joining the leftover
// with each next chunk instead copied every chunk again and left the copy as garbage
// (~4 KB per item of a StreamInsert of 784-d vectors).
import { Code, ConnectError } from "@connectrpc/connect";
import { ENVELOPE_HEADER_BYTES } from "./envelope";

export async function* envelopes(chunks: AsyncIterable<Uint8Array>, maxMessage: number): AsyncGenerator<Uint8Array> {
  // a header split over chunks, gathered here
  const header = new Uint8Array(ENVELOPE_HEADER_BYTES);
  let headerFill = 0;
  // the body of a message begun in an earlier chunk
  let partial: Uint8Array | null = null;
  let partialFill = 0;
  for await (const chunk of chunks) {
    let at = 0;
    while (at < chunk.length) {
      if (partial !== null) {
        const take = Math.min(partial.length - partialFill, chunk.length - at);
        partial.set(chunk.subarray(at, at + take), partialFill);
        partialFill += take;
        at += take;
        if (partialFill < partial.length) break;
        const whole = partial;
        partial = null;
        yield whole;
        continue;
      }
      let len: number;
      if (headerFill === 0 && chunk.length - at >= ENVELOPE_HEADER_BYTES) {
        len = lengthOf(chunk, at, maxMessage);
        at += ENVELOPE_HEADER_BYTES;
        if (chunk.length - at >= len) {
          yield chunk.subarray(at, at + len);
          at += len;
          continue;
        }
      } else {
        const take = Math.min(ENVELOPE_HEADER_BYTES - headerFill, chunk.length - at);
        header.set(chunk.subarray(at, at + take), headerFill);
        headerFill += take;
        at += take;
        if (headerFill < ENVELOPE_HEADER_BYTES) break;
        headerFill = 0;
        len = lengthOf(header, 0, maxMessage);
      }
      partial = new Uint8Array(len);
      partialFill = 0;
      if (len === 0) {
        partial = null;
        yield new Uint8Array(0);
      }
    }
  }
  if (partial !== null || headerFill > 0) throw new ConnectError("protocol error: the request stream ended inside a message", Code.InvalidArgument);
}

/** The message length of the envelope header at `at`, checked. */
function lengthOf(bytes: Uint8Array, at: number, maxMessage: number): number {
  if ((bytes[at]! & 0b1) !== 0) throw new ConnectError("protocol error: compressed request without grpc-encoding", Code.InvalidArgument);
  // by hand, not through a DataView: `.buffer` of a chunk view costs an allocation per message
  const len = ((bytes[at + 1]! << 24) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 8) | bytes[at + 4]!) >>> 0;
  if (len > maxMessage) throw new ConnectError(`request message is larger than ${maxMessage} bytes (--max-message-size)`, Code.ResourceExhausted);
  return len;
}
