// Caller side of a unary call through the tunnel without Connect's client pipeline:
// encode the one message, open a stream, send it, collect the answer and its
// trailers, decode. Same wire exchange as the gRPC transport makes (request head with
// grpc headers, enveloped body, response head, body, trailers with grpc-status), so
// either end may still be Connect's.
import { create, fromBinary, isMessage, type DescMessage, type DescMethodUnary, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type UnaryResponse } from "@connectrpc/connect";
import { readAllBytes } from "@connectrpc/connect/protocol";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
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
