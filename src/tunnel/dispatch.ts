// Callee side: feeds each incoming tunnel stream into the Connect handler for
// its path — the same router handlers that serve the agent's own gRPC port.
import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";
import { encodeHeaders, encodeResponseHead, FrameType, type RequestHead } from "./frames";
import type { TunnelStream } from "./stream";
import type { Logger } from "../observe/log";

export type CallDispatcher = (stream: TunnelStream, head: RequestHead) => void;

export function createCallDispatcher(handlers: readonly UniversalHandler[], log: Logger): CallDispatcher {
  const byPath = new Map<string, UniversalHandler>();
  for (const h of handlers) byPath.set(h.requestPath, h);
  return (stream, head) => {
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
