// Caller side of a unary call through the tunnel without Connect's client pipeline:
// encode the one message, open a stream, send it, collect the answer and its
// trailers, decode. Same wire exchange as the gRPC transport makes (request head with
// grpc headers, enveloped body, response head, body, trailers with grpc-status), so
// either end may still be Connect's. To an agent that takes Call frames, a small
// request goes as one Call frame instead, answered by one Reply (frames.ts).
import { create, fromBinary, isMessage, type DescMessage, type DescMethodUnary, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type UnaryResponse } from "@connectrpc/connect";
import { readAllBytes } from "@connectrpc/connect/protocol";
import { findTrailerError, parseTimeout } from "@connectrpc/connect/protocol-grpc";
import { MAX_DATA_FRAME } from "./stream";
import { envelope, ENVELOPE_HEADER_BYTES, unwrapEnvelope } from "../rpc/envelope";
import { encodeWithFloats } from "../rpc/wire-floats";
import type { Mux } from "./mux";

export interface TunnelUnaryLimits {
  readMaxBytes: number;
  writeMaxBytes: number;
}

export async function tunnelUnary<I extends DescMessage, O extends DescMessage>(
  mux: Mux,
  limits: TunnelUnaryLimits,
  method: DescMethodUnary<I, O>,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  header: ConstructorParameters<typeof Headers>[0],
  input: MessageInitShape<I>,
): Promise<UnaryResponse<I, O>> {
  if (signal?.aborted) throw ConnectError.from(signal.reason ?? new ConnectError("call canceled", Code.Canceled), Code.Canceled);
  const message = isMessage(input, method.input) ? input : create(method.input, input);
  const bytes = encodeWithFloats(method.input, message);
  if (bytes.byteLength > limits.writeMaxBytes) {
    throw new ConnectError(`message size ${bytes.byteLength} is larger than configured writeMaxBytes ${limits.writeMaxBytes}`, Code.ResourceExhausted);
  }
  if (mux.takesCalls && bytes.byteLength <= MAX_DATA_FRAME) return callUnary(mux, limits, method, signal, timeoutMs, header, bytes);
  const headers = new Headers(header);
  headers.set("content-type", "application/grpc+proto");
  if (timeoutMs !== undefined && timeoutMs > 0) headers.set("grpc-timeout", `${Math.ceil(timeoutMs)}m`);
  const stream = mux.open({ path: `/${method.parent.typeName}/${method.name}`, headers });

  let timer: ReturnType<typeof setTimeout> | undefined;
  const onAbort = () => {
    const err = ConnectError.from(signal!.reason ?? new ConnectError("call canceled", Code.Canceled), Code.Canceled);
    stream.reset(err.code, err.rawMessage);
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  if (timeoutMs !== undefined && timeoutMs > 0) {
    timer = setTimeout(() => stream.reset(Code.DeadlineExceeded, `the operation timed out after ${timeoutMs} ms`), timeoutMs);
  }
  try {
    const answer = new Promise<{ header: Headers; trailer: Headers }>((resolve, reject) => {
      let head: Headers | undefined;
      stream.onHead = (h) => (head = h.headers);
      stream.onTrailers = (t) => {
        if (head === undefined) {
          stream.reset(Code.Internal, "tunnel protocol error: trailers before response head");
          return;
        }
        stream.inbound.end();
        stream.finish();
        resolve({ header: head, trailer: t });
      };
      stream.signal.addEventListener("abort", () => reject(ConnectError.from(stream.signal.reason, Code.Unavailable)), { once: true });
    });
    const body = readAllBytes(stream.inbound, limits.readMaxBytes + ENVELOPE_HEADER_BYTES);
    // e.g. too large: stop the callee too (the read already failed the call)
    body.catch((e: unknown) => {
      const err = ConnectError.from(e);
      stream.reset(err.code, err.rawMessage);
    });
    await stream.write(envelope(bytes));
    stream.end();
    const { header: resHeader, trailer } = await answer;
    const err = findTrailerError(trailer);
    if (err) throw err;
    const message = unwrapEnvelope(await body, "response");
    return {
      stream: false,
      service: method.parent,
      method,
      header: resHeader,
      trailer,
      message: fromBinary(method.output, message),
    } as UnaryResponse<I, O>;
  } finally {
    if (timer) clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Metadata a caller set, as plain pairs, and a deadline it gave as a grpc-timeout header:
 * the deadline travels in the Call frame itself, as the smaller of the two.
 */
function callHead(header: ConstructorParameters<typeof Headers>[0], timeoutMs: number): { headers: [string, string][]; timeoutMs: number } {
  if (header === undefined) return { headers: [], timeoutMs };
  const headers: [string, string][] = [];
  let ms = timeoutMs;
  new Headers(header).forEach((value, name) => {
    if (name !== "grpc-timeout") return void headers.push([name, value]);
    const t = parseTimeout(value, Number.MAX_SAFE_INTEGER);
    if (t.error) throw t.error;
    if (t.timeoutMs !== undefined) ms = ms > 0 ? Math.min(ms, Math.ceil(t.timeoutMs)) : Math.ceil(t.timeoutMs);
  });
  return { headers, timeoutMs: ms };
}

async function callUnary<I extends DescMessage, O extends DescMessage>(
  mux: Mux,
  limits: TunnelUnaryLimits,
  method: DescMethodUnary<I, O>,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
  header: ConstructorParameters<typeof Headers>[0],
  bytes: Uint8Array,
): Promise<UnaryResponse<I, O>> {
  const ms = timeoutMs !== undefined && timeoutMs > 0 ? Math.ceil(timeoutMs) : 0;
  const { id, outcome } = mux.call({ path: `/${method.parent.typeName}/${method.name}`, ...callHead(header, ms) }, bytes, limits.readMaxBytes);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onAbort = () => mux.cancelCall(id, ConnectError.from(signal!.reason ?? new ConnectError("call canceled", Code.Canceled), Code.Canceled));
  signal?.addEventListener("abort", onAbort, { once: true });
  if (ms > 0) timer = setTimeout(() => mux.cancelCall(id, new ConnectError(`the operation timed out after ${ms} ms`, Code.DeadlineExceeded)), ms);
  try {
    const out = await outcome;
    if ("trailers" in out) {
      throw findTrailerError(out.trailers) ?? new ConnectError("tunnel protocol error: an error reply without a status", Code.Internal);
    }
    return {
      stream: false,
      service: method.parent,
      method,
      header: new Headers(),
      trailer: new Headers(),
      message: fromBinary(method.output, out.message),
    } as UnaryResponse<I, O>;
  } finally {
    if (timer) clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}
