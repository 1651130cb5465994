// Streaming gRPC calls (StreamSearch, StreamInsert, StreamListObject, …) served straight
// from the HTTP/2 stream, as grpc-unary.ts serves unary ones. Connect's handler runs
// every message through its pipeline of async iterables and decodes vectors float by
// float; a Stream* call is thousands of messages, so that cost is paid per item. Here
// the request body is cut into envelopes as it arrives, each decoded by
// decodeWithFloats and handed to the method through the in-process transport
// (interceptors included); the answers go out enveloped as they are produced (those
// ready in the same turn in one write), with the
// stream's backpressure, and the status follows as trailers.
import { toBinary, type DescMessage, type DescMethodStreaming, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { parseTimeout } from "@connectrpc/connect/protocol-grpc";
import type { ServerHttp2Stream } from "node:http2";
import { once } from "node:events";
import type { DirectTransport } from "./direct-transport";
import { envelope, ENVELOPE_HEADER_BYTES } from "./envelope";
import { headerBlock, requestChunks, stopReading } from "./h2-adapter";
import { GRPC_PROTO, statusTrailers, undecodable } from "./unary-call";
import { decodeWithFloats } from "./wire-floats";

export interface GrpcStreamLimits {
  readMaxBytes: number;
  writeMaxBytes: number;
}

/** The request messages of a stream, decoded as their envelopes complete. */
async function* requestMessages<D extends DescMessage>(stream: ServerHttp2Stream, desc: D, maxMessage: number): AsyncGenerator<MessageShape<D>> {
  let buf: Uint8Array = new Uint8Array(0);
  for await (const chunk of requestChunks(stream)) {
    buf = buf.byteLength === 0 ? chunk : Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.byteLength < ENVELOPE_HEADER_BYTES) break;
      if ((buf[0]! & 0b1) !== 0) throw new ConnectError("protocol error: compressed request without grpc-encoding", Code.InvalidArgument);
      // by hand, not through a DataView: `.buffer` of a joined chunk costs an allocation per message
      const len = ((buf[1]! << 24) | (buf[2]! << 16) | (buf[3]! << 8) | buf[4]!) >>> 0;
      if (len > maxMessage) throw new ConnectError(`request message is larger than ${maxMessage} bytes (--max-message-size)`, Code.ResourceExhausted);
      if (buf.byteLength < ENVELOPE_HEADER_BYTES + len) break;
      const bytes = buf.subarray(ENVELOPE_HEADER_BYTES, ENVELOPE_HEADER_BYTES + len);
      buf = buf.subarray(ENVELOPE_HEADER_BYTES + len);
      let message: MessageShape<D>;
      try {
        message = decodeWithFloats(desc, bytes);
      } catch (e) {
        throw undecodable(e);
      }
      yield message;
    }
  }
  if (buf.byteLength > 0) throw new ConnectError("protocol error: the request stream ended inside a message", Code.InvalidArgument);
}

/** Envelopes held for one write at most; more than this goes out at once. */
const BATCH_BYTES = 64 << 10;

/**
 * The answers that become ready in one turn of the event loop (a WAL group commit
 * settles many stream items at once) go out in one write: one DATA frame the client
 * parses instead of one per item, and one pass through the stream's write machinery.
 * An answer waits at most until the end of the current turn.
 */
class AnswerWriter {
  private parts: Uint8Array[] = [];
  private bytes = 0;
  private scheduled = false;
  private blocked: Promise<unknown> | null = null;

  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly signal: AbortSignal,
  ) {}

  push(framed: Uint8Array): void {
    this.parts.push(framed);
    this.bytes += framed.byteLength;
    if (this.bytes >= BATCH_BYTES) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** the stream's backpressure: awaited before the next answer is taken */
  async ready(): Promise<void> {
    if (this.blocked) await this.blocked;
  }

  readonly flush = (): void => {
    this.scheduled = false;
    if (this.parts.length === 0) return;
    const out = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [];
    this.bytes = 0;
    if (this.stream.destroyed || this.stream.closed) return;
    if (!this.stream.write(out) && !this.blocked) {
      const drained = once(this.stream, "drain", { signal: this.signal }).finally(() => {
        if (this.blocked === drained) this.blocked = null;
      });
      // awaited by ready(); a stream that closes instead ends the call there
      drained.catch(() => undefined);
      this.blocked = drained;
    }
  };
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
  let answers: AnswerWriter | undefined;
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
    const res = await transport.stream(method, gone.signal, timeout.timeoutMs, header, requestMessages(stream, method.input, limits.readMaxBytes));
    answers = new AnswerWriter(stream, gone.signal);
    for await (const m of res.message) {
      if (stream.destroyed || stream.closed) return;
      const out = toBinary(method.output, m as MessageShape<DescMessage>);
      if (out.byteLength > limits.writeMaxBytes) {
        throw new ConnectError(`message size ${out.byteLength} is larger than configured writeMaxBytes ${limits.writeMaxBytes}`, Code.ResourceExhausted);
      }
      head(res.header);
      answers.push(envelope(out));
      await answers.ready();
    }
    answers.flush();
    if (stream.destroyed || stream.closed) return;
    res.trailer.set("grpc-status", "0");
    trailers = headerBlock(res.trailer);
    head(res.header);
    stream.end();
    stopReading(stream);
  } catch (e) {
    // the answers before the failure go out before its status
    answers?.flush();
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
