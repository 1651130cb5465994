// Connect's universal handlers served on raw HTTP/2 streams. connect-node's adapter
// goes through node:http2's compatibility request/response objects; under Bun those
// also claim a stream's trailers, which rules out serving some streams ourselves
// (grpc-unary.ts) beside them, and cost a few objects per call. This adapter speaks
// the stream API directly: headers in, status + headers, body chunks with
// backpressure, trailers out.
import type { ContextValues } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";
import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { once } from "node:events";

const NGHTTP2_NO_ERROR = 0x0;
const NGHTTP2_INTERNAL_ERROR = 0x2;

/**
 * The request body as chunks. Stopping early (a message over the size limit, a refused
 * call) must not destroy the stream: that resets it with CANCEL before the status
 * goes out, and the client sees "cancelled" instead of the reason.
 */
export function requestChunks(stream: ServerHttp2Stream): AsyncIterable<Uint8Array> {
  return stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>;
}

/**
 * After the answer went out: a client still sending is told to stop with
 * RST_STREAM(NO_ERROR), as RFC 9113 §8.1 has a server do when it answered early.
 */
export function stopReading(stream: ServerHttp2Stream): void {
  if (stream.destroyed || stream.closed || stream.readableEnded) return;
  const close = () => {
    if (!stream.destroyed && !stream.closed && !stream.readableEnded) stream.close(NGHTTP2_NO_ERROR);
  };
  if (stream.writableFinished) close();
  else stream.once("finish", close);
}

/** Request headers as web Headers, pseudo-headers (":path", …) left out. */
export function webHeaders(headers: IncomingHttpHeaders): Headers {
  const h = new Headers();
  for (const k in headers) {
    if (k.charCodeAt(0) === 58 /* ':' */) continue;
    const v = headers[k];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) h.append(k, x);
    else h.set(k, v);
  }
  return h;
}

/**
 * grpc-message as the gRPC spec has it: only "%" and bytes outside printable ASCII are
 * percent-encoded. Connect encodes with encodeURIComponent, and grpc-js decodes with
 * decodeURI, which leaves "%3A", "%2F" and the like in the text its users read.
 */
function specGrpcMessage(encoded: string): string {
  let text: string;
  try {
    text = decodeURIComponent(encoded);
  } catch {
    return encoded;
  }
  return text.replace(/[^\x20-\x24\x26-\x7e]+/gu, (run) => encodeURIComponent(run).replace(/'/g, "%27"));
}

/** web Headers as an HTTP/2 header block, plus extra fields (e.g. ":status"). */
export function headerBlock(h: Headers | undefined, extra: Record<string, string | number> = {}): Record<string, string | number> {
  const out: Record<string, string | number> = extra;
  h?.forEach((v, k) => (out[k] = k === "grpc-message" ? specGrpcMessage(v) : v));
  return out;
}

/** `header` is `headers` as web Headers (already made by the caller); `values` go to the handler's context. */
export function universalStreamHandler(
  byPath: ReadonlyMap<string, UniversalHandler>,
): (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, header: Headers, values: ContextValues) => void {
  return (stream, headers, header, values) => {
    const path = headers[":path"] ?? "/";
    const q = path.indexOf("?");
    const handler = byPath.get(q < 0 ? path : path.slice(0, q));
    if (handler === undefined) {
      stream.respond({ ":status": 404 }, { endStream: true });
      return;
    }
    void serve(handler, stream, headers, path, header, values);
  };
}

async function serve(
  handler: UniversalHandler,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  path: string,
  header: Headers,
  contextValues: ContextValues,
): Promise<void> {
  const gone = new AbortController();
  // the client went away (RST_STREAM, connection lost) before we finished
  const onClose = () => gone.abort(new Error("stream closed"));
  stream.once("close", onClose);
  try {
    const req: UniversalServerRequest = {
      httpVersion: "2.0",
      method: headers[":method"] ?? "GET",
      url: `http://${headers[":authority"] ?? "localhost"}${path}`,
      header,
      body: requestChunks(stream),
      signal: gone.signal,
      contextValues,
    };
    const res = await handler(req);
    if (stream.destroyed || stream.closed) return;
    const trailers = res.trailer;
    const body = res.body;
    const head = headerBlock(res.header, { ":status": res.status });
    if (body === undefined && trailers === undefined) {
      stream.respond(head, { endStream: true });
      stopReading(stream);
      return;
    }
    stream.respond(head, { waitForTrailers: trailers !== undefined });
    if (trailers !== undefined) stream.once("wantTrailers", () => stream.sendTrailers(headerBlock(trailers)));
    if (body instanceof Uint8Array) {
      stream.end(body);
      stopReading(stream);
      return;
    }
    if (body !== undefined) {
      for await (const chunk of body) {
        if (stream.destroyed || stream.closed) return;
        if (!stream.write(chunk)) await once(stream, "drain", { signal: gone.signal });
      }
    }
    stream.end();
    stopReading(stream);
  } catch {
    // Connect turns handler errors into statuses itself; what reaches here is a broken
    // stream (client gone, write after close): reset it rather than leave it hanging.
    if (!stream.destroyed && !stream.closed) stream.close(NGHTTP2_INTERNAL_ERROR);
  } finally {
    stream.off("close", onClose);
  }
}
