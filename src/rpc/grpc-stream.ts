// Streaming gRPC calls (StreamSearch, StreamInsert, StreamListObject, …) served straight
// from the HTTP/2 stream, as grpc-unary.ts serves unary ones. Connect's handler runs
// every message through its pipeline of async iterables and decodes vectors float by
// float; a Stream* call is thousands of messages, so that cost is paid per item. Here
// the request body is cut into envelopes as it arrives, each decoded by
// decodeWithFloats and handed to the method through the in-process transport
// (interceptors included); each answer goes out enveloped as it is produced, with the
// stream's backpressure, and the status follows as trailers.
import { toBinary, type DescMessage, type DescMethodStreaming, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { parseTimeout } from "@connectrpc/connect/protocol-grpc";
import type { ServerHttp2Stream } from "node:http2";
import { once } from "node:events";
import type { DirectTransport } from "./direct-transport";
import { envelope } from "./envelope";
import { envelopes } from "./envelope-stream";
import { headerBlock, requestChunks, stopReading } from "./h2-adapter";
import { GRPC_PROTO, statusTrailers, undecodable } from "./unary-call";
import { decodeWithFloats, type FloatAllocator } from "./wire-floats";

export interface GrpcStreamLimits {
  readMaxBytes: number;
  writeMaxBytes: number;
}

/** The request messages of a stream, decoded as their envelopes complete. */
async function* requestMessages<D extends DescMessage>(stream: ServerHttp2Stream, desc: D, maxMessage: number, alloc: FloatAllocator | undefined): AsyncGenerator<MessageShape<D>> {
  for await (const bytes of envelopes(requestChunks(stream), maxMessage)) {
    let message: MessageShape<D>;
    try {
      message = decodeWithFloats(desc, bytes, alloc);
    } catch (e) {
      throw undecodable(e);
    }
    yield message;
  }
}

export async function serveStream(
  stream: ServerHttp2Stream,
  header: Headers,
  method: DescMethodStreaming<DescMessage, DescMessage>,
  transport: DirectTransport,
  limits: GrpcStreamLimits,
): Promise<void> {
  const gone = new AbortController();
  const onClose = () => gone.abort(new ConnectError("client closed the stream", Code.Canceled));
  stream.once("close", onClose);
  let headed = false;
  let trailers: Record<string, string | number> = {};
  const head = (h: Headers) => {
    if (headed) return;
    headed = true;
    h.set("content-type", GRPC_PROTO);
    stream.respond(headerBlock(h, { ":status": 200 }), { waitForTrailers: true });
    stream.once("wantTrailers", () => stream.sendTrailers(trailers));
  };
  try {
    const timeout = parseTimeout(header.get("grpc-timeout"), Number.MAX_SAFE_INTEGER);
    if (timeout.error) throw timeout.error;
    const res = await transport.stream(method, gone.signal, timeout.timeoutMs, header, requestMessages(stream, method.input, limits.readMaxBytes, transport.floatsFor(method)));
    for await (const m of res.message) {
      if (stream.destroyed || stream.closed) return;
      const out = toBinary(method.output, m as MessageShape<DescMessage>);
      if (out.byteLength > limits.writeMaxBytes) {
        throw new ConnectError(`message size ${out.byteLength} is larger than configured writeMaxBytes ${limits.writeMaxBytes}`, Code.ResourceExhausted);
      }
      head(res.header);
      if (!stream.write(envelope(out))) await once(stream, "drain", { signal: gone.signal });
    }
    if (stream.destroyed || stream.closed) return;
    res.trailer.set("grpc-status", "0");
    trailers = headerBlock(res.trailer);
    head(res.header);
    stream.end();
    stopReading(stream);
  } catch (e) {
    if (stream.destroyed || stream.closed) return;
    const status = headerBlock(statusTrailers(e));
    if (headed) {
      trailers = status;
      stream.end();
    } else {
      // trailers-only: the status travels in the one HEADERS frame
      stream.respond({ ...status, ":status": 200, "content-type": GRPC_PROTO }, { endStream: true });
    }
    stopReading(stream);
  } finally {
    stream.off("close", onClose);
  }
}
