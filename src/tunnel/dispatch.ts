// Callee side: feeds each incoming tunnel stream into the Connect handler for
// its path — the same router handlers that serve the agent's own gRPC port. Plain
// unary gRPC calls (every Search, Insert … the server forwards) skip Connect's
// handler pipeline when an in-process transport over the same routes is given:
// read the one envelope, invokeUnary, answer head + body + trailers. Calls that came
// as one Call frame (createCallServer) run the same way and answer with one Reply.
import { Code, ConnectError } from "@connectrpc/connect";
import { readAllBytes, type UniversalHandler, type UniversalServerRequest } from "@connectrpc/connect/protocol";
import { encodeHeaders, encodeResponseHead, FrameType, type DecodedCall, type RequestHead } from "./frames";
import type { CallOutcome } from "./mux";
import type { TunnelStream } from "./stream";
import type { Logger } from "../observe/log";
import type { DirectTransport } from "../rpc/direct-transport";
import type { CallCancel } from "../rpc/call-context";
import { ENVELOPE_HEADER_BYTES } from "../rpc/envelope";
import { answerHeader, answerTrailer, GRPC_PROTO, invokeUnary, invokeUnaryMessage, isPlainGrpc, statusTrailers } from "../rpc/unary-call";
import type { DescMessage, DescMethodUnary } from "@bufbuild/protobuf";

export type CallDispatcher = (stream: TunnelStream, head: RequestHead) => void;

export interface FastUnary {
  transport: DirectTransport;
  readMaxBytes: number;
  writeMaxBytes: number;
}

export function createCallDispatcher(handlers: readonly UniversalHandler[], log: Logger, fast?: FastUnary): CallDispatcher {
  const byPath = new Map<string, UniversalHandler>();
  for (const h of handlers) byPath.set(h.requestPath, h);
  return (stream, head) => {
    const unary = fast?.transport.unaryMethods.get(head.path);
    if (unary !== undefined && isPlainGrpc(head.headers.get("content-type"), head.headers.get("grpc-encoding"))) {
      void serveUnary(unary, stream, head, fast!);
      return;
    }
    const handler = byPath.get(head.path);
    if (!handler) {
      stream.reset(Code.Unimplemented, `no handler for ${head.path} on this agent`);
      return;
    }
    void serve(handler, stream, head, log);
  };
}

async function serve(handler: UniversalHandler, stream: TunnelStream, head: RequestHead, log: Logger): Promise<void> {
  const req: UniversalServerRequest = {
    httpVersion: "2.0",
    method: "POST",
    url: `http://tunnel${head.path}`,
    header: head.headers,
    body: stream.inbound,
    signal: stream.signal,
  };
  let it: AsyncIterator<Uint8Array> | undefined;
  try {
    const res = await handler(req);
    stream.queue(FrameType.ResponseHead, encodeResponseHead({ status: res.status, headers: new Headers(res.header) }));
    if (res.body) {
      it = res.body[Symbol.asyncIterator]();
      for (;;) {
        if (stream.isFinished) break;
        const r = await it.next();
        if (r.done) break;
        await stream.write(r.value);
      }
      it = undefined;
    }
    // The gRPC handler fills its trailers (grpc-status) while the body drains.
    stream.queue(FrameType.Trailers, encodeHeaders(new Headers(res.trailer)));
    stream.finish();
  } catch (e) {
    const err = ConnectError.from(e, Code.Internal);
    if (!stream.isFinished) log.debug("tunnel call failed", { path: head.path, code: Code[err.code], err });
    stream.reset(err.code, err.rawMessage);
  } finally {
    // stop a handler whose response we no longer forward (peer reset, tunnel gone)
    it?.return?.().catch(() => {});
  }
}


async function serveUnary(method: DescMethodUnary<DescMessage, DescMessage>, stream: TunnelStream, head: RequestHead, fast: FastUnary): Promise<void> {
  let trailer: Headers;
  let body: Uint8Array | undefined;
  let header: Headers;
  try {
    const answer = await invokeUnary(fast.transport, method, await readAllBytes(stream.inbound, fast.readMaxBytes + ENVELOPE_HEADER_BYTES), head.headers, stream.signal, fast.writeMaxBytes);
    header = answerHeader(answer.header);
    trailer = answerTrailer(answer.trailer);
    body = answer.body;
  } catch (e) {
    // as Connect's gRPC handler does: a normal response whose trailers carry the status
    header = new Headers({ "content-type": GRPC_PROTO });
    trailer = statusTrailers(e);
  }
  if (stream.isFinished) return;
  try {
    stream.queue(FrameType.ResponseHead, encodeResponseHead({ status: 200, headers: header }));
    if (body) await stream.write(body);
    stream.queue(FrameType.Trailers, encodeHeaders(trailer));
    stream.finish();
  } catch (e) {
    const err = ConnectError.from(e, Code.Internal);
    stream.reset(err.code, err.rawMessage);
  }
}

/** Callee side of Call frames: the unary methods of the fast transport, in-process. */
export function createCallServer(fast: FastUnary): (call: DecodedCall, cancel: CallCancel) => Promise<CallOutcome> {
  return async (call, cancel) => {
    try {
      const method = fast.transport.unaryMethods.get(call.path);
      if (method === undefined) throw new ConnectError(`no unary method ${call.path} on this agent`, Code.Unimplemented);
      if (call.message.byteLength > fast.readMaxBytes) {
        throw new ConnectError(`message size ${call.message.byteLength} is larger than configured readMaxBytes ${fast.readMaxBytes}`, Code.ResourceExhausted);
      }
      const res = await invokeUnaryMessage(fast.transport, method, call.message, call.headers, call.timeoutMs > 0 ? call.timeoutMs : undefined, cancel, fast.writeMaxBytes);
      return { message: res.message };
    } catch (e) {
      return { trailers: statusTrailers(e) };
    }
  };
}
