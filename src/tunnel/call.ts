// Caller side: a Connect UniversalClientFn that turns each HTTP-shaped call
// from the gRPC transport into one tunnel stream.
import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalClientFn, UniversalClientRequest, UniversalClientResponse } from "@connectrpc/connect/protocol";
import type { ResponseHead } from "./frames";
import type { Mux } from "./mux";
import type { TunnelStream } from "./stream";

/** The reason Connect aborted a call, as the code we tell the callee. */
function abortError(signal: AbortSignal): ConnectError {
  return ConnectError.from(signal.reason ?? new ConnectError("call canceled", Code.Canceled), Code.Canceled);
}

function pathOf(url: string): string {
  // the transport builds `${baseUrl}/pkg.Service/Method`; only the path matters here
  const i = url.indexOf("://");
  const slash = i < 0 ? url.indexOf("/") : url.indexOf("/", i + 3);
  return slash < 0 ? "/" : url.slice(slash).split("?")[0]!;
}

/** Sends the request body under flow control; ends or resets the request side. */
async function pump(stream: TunnelStream, body: AsyncIterable<Uint8Array> | undefined): Promise<void> {
  try {
    if (body) {
      for await (const chunk of body) {
        if (stream.isFinished) break;
        await stream.write(chunk);
      }
    }
    stream.end();
  } catch (e) {
    // The body throws when Connect aborts the call (the reason is the abort
    // error) or when a client's input iterable fails.
    const err = ConnectError.from(e, Code.Canceled);
    stream.reset(err.code, err.rawMessage);
  }
}

export function createTunnelClient(mux: Mux): UniversalClientFn {
  return async (req: UniversalClientRequest): Promise<UniversalClientResponse> => {
    const signal = req.signal;
    if (signal?.aborted) throw abortError(signal);
    const stream = mux.open({ path: pathOf(req.url), headers: req.header });
    const trailer = new Headers();
    let gotHead = false;
    const head = new Promise<ResponseHead>((resolve, reject) => {
      stream.onHead = (h) => {
        gotHead = true;
        resolve(h);
      };
      stream.signal.addEventListener("abort", () => reject(stream.signal.reason), { once: true });
    });
    stream.onTrailers = (t) => {
      if (!gotHead) {
        stream.reset(Code.Internal, "tunnel protocol error: trailers before response head");
        return;
      }
      t.forEach((v, k) => trailer.append(k, v));
      stream.inbound.end();
      stream.finish();
      signal?.removeEventListener("abort", onAbort);
    };
    // Connect also aborts the signal (without reason) after a call completes;
    // by then the stream is finished and reset() does nothing.
    const onAbort = () => {
      const err = abortError(signal!);
      stream.reset(err.code, err.rawMessage);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    stream.signal.addEventListener("abort", () => signal?.removeEventListener("abort", onAbort), { once: true });
    void pump(stream, req.body);
    const h = await head;
    return { status: h.status, header: h.headers, body: stream.inbound, trailer };
  };
}
