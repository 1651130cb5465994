// Raw senders, one per protocol, that put exactly the given bytes on the wire and read
// back every status the server answered with: the call's own, and for streams each
// item's google.rpc.Status. Nothing here trusts a client library to be well-behaved.
import { fromBinary, type DescMethod } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import * as http2 from "node:http2";

export interface Answer {
  /** the call's status; undefined = no status at all (a failure) */
  code: Code | undefined;
  /** per-item statuses inside stream responses */
  items: Code[];
  /** what came back, for the failure message */
  detail: string;
}

const CONNECT_CODES: Record<string, Code> = Object.fromEntries(
  Object.entries(Code)
    .filter(([, v]) => typeof v === "number")
    .map(([k, v]) => [k.replace(/[A-Z]/g, (c, i: number) => (i ? "_" : "") + c.toLowerCase()), v as Code]),
);

/** Item statuses in a stream response (the `status` case of Vald's StreamResponse oneofs). */
function itemCodes(method: DescMethod, messages: Uint8Array[]): Code[] {
  const out: Code[] = [];
  for (const m of messages) {
    try {
      const msg = fromBinary(method.output, m) as unknown as { payload?: { case?: string; value?: { code?: number } } };
      if (msg.payload?.case === "status") out.push((msg.payload.value?.code ?? 0) as Code);
    } catch {
      out.push(Code.DataLoss); // an answer we cannot read is the server's fault
    }
  }
  return out;
}

function splitEnvelopes(body: Uint8Array): { flags: number; data: Uint8Array }[] {
  const out: { flags: number; data: Uint8Array }[] = [];
  let at = 0;
  while (at + 5 <= body.length) {
    const len = new DataView(body.buffer, body.byteOffset + at + 1, 4).getUint32(0);
    out.push({ flags: body[at]!, data: body.subarray(at + 5, at + 5 + len) });
    at += 5 + len;
  }
  return out;
}

export class H2Road {
  private session: http2.ClientHttp2Session | undefined;
  constructor(
    private readonly url: string,
    private readonly auth: Record<string, string>,
  ) {}

  private connect(): http2.ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const s = http2.connect(this.url);
    s.on("error", () => undefined);
    this.session = s;
    return s;
  }

  /** gRPC over HTTP/2: any method kind; `chunks` are written one after the other. */
  call(method: DescMethod, chunks: Uint8Array[], extra: Record<string, string> = {}, timeoutMs = 15_000): Promise<Answer> {
    const path = `/${method.parent.typeName}/${method.name}`;
    return new Promise((resolve) => {
      const req = this.connect().request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...this.auth, ...extra });
      const parts: Buffer[] = [];
      let headers: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders = {};
      const timer = setTimeout(() => {
        req.close(http2.constants.NGHTTP2_CANCEL);
        resolve({ code: undefined, items: [], detail: `no answer within ${timeoutMs} ms` });
      }, timeoutMs);
      req.on("response", (h) => (headers = h));
      req.on("trailers", (t) => (trailers = t));
      req.on("data", (d: Buffer) => parts.push(d));
      req.on("error", () => undefined);
      req.on("close", () => {
        clearTimeout(timer);
        const status = trailers["grpc-status"] ?? headers["grpc-status"];
        const messages = splitEnvelopes(Buffer.concat(parts)).map((e) => e.data);
        const detail = `http ${headers[":status"]} grpc-status ${status} ${decodeURIComponent(String(trailers["grpc-message"] ?? headers["grpc-message"] ?? ""))} rst ${req.rstCode}`;
        resolve({ code: status === undefined ? undefined : (Number(status) as Code), items: itemCodes(method, messages), detail });
      });
      for (const c of chunks) req.write(c);
      req.end();
    });
  }

  /** Opens a call and resets it before it finishes: the client gave up. */
  cancel(method: DescMethod, chunk: Uint8Array): Promise<void> {
    const path = `/${method.parent.typeName}/${method.name}`;
    return new Promise((resolve) => {
      const req = this.connect().request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...this.auth });
      req.on("error", () => undefined);
      req.on("close", () => resolve());
      req.write(chunk);
      setImmediate(() => req.close(http2.constants.NGHTTP2_CANCEL));
    });
  }

  close(): void {
    this.session?.close();
  }
}

/** gRPC-web over HTTP/1.1: status in headers (trailers-only) or in the trailer envelope. */
export async function grpcWeb(base: string, method: DescMethod, body: Uint8Array, headers: Record<string, string>): Promise<Answer> {
  const path = `/${method.parent.typeName}/${method.name}`;
  const res = await fetch(base + path, { method: "POST", body, headers: { "content-type": "application/grpc-web+proto", ...headers }, signal: AbortSignal.timeout(15_000) });
  const bytes = new Uint8Array(await res.arrayBuffer());
  let status = res.headers.get("grpc-status") ?? undefined;
  let message = res.headers.get("grpc-message") ?? "";
  const messages: Uint8Array[] = [];
  for (const e of splitEnvelopes(bytes)) {
    if (e.flags & 0x80) {
      const text = new TextDecoder().decode(e.data);
      status = /grpc-status:\s*(\d+)/i.exec(text)?.[1] ?? status;
      message = /grpc-message:\s*(.*)/i.exec(text)?.[1]?.trim() ?? message;
    } else messages.push(e.data);
  }
  const detail = `http ${res.status} grpc-status ${status} ${decodeURIComponent(message)}`;
  return { code: status === undefined ? undefined : (Number(status) as Code), items: itemCodes(method, messages), detail };
}

/** Connect unary over HTTP/1.1, binary or JSON: HTTP 200 is OK, anything else carries {code}. */
export async function connectUnary(base: string, method: DescMethod, body: Uint8Array | string, json: boolean, headers: Record<string, string>): Promise<Answer> {
  const path = `/${method.parent.typeName}/${method.name}`;
  const res = await fetch(base + path, {
    method: "POST",
    body,
    headers: { "content-type": json ? "application/json" : "application/proto", "connect-protocol-version": "1", ...headers },
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  if (res.status === 200) return { code: 0 as Code, items: [], detail: "http 200" };
  let code: Code | undefined;
  try {
    code = CONNECT_CODES[(JSON.parse(text) as { code: string }).code];
  } catch {
    code = undefined;
  }
  return { code, items: [], detail: `http ${res.status} ${text.slice(0, 200)}` };
}
