// One port for every RPC flavour: gRPC clients speak HTTP/2, browsers and curl speak
// HTTP/1.1 (Connect, gRPC-web). In plain text, node:http2 only does prior-knowledge
// h2c, so a TCP server peeks at the first bytes and hands the socket to the right HTTP
// server. With TLS, ALPN says which (h2 or http/1.1); a client that offers no ALPN
// speaks HTTP/1.1, as RFC 9113 requires for h2 over TLS. The HTTP/1.1 server is made
// on the first HTTP/1.1 connection: gRPC-only deployments never load node:http.
//
// Every call, whichever road it takes, passes the listener's guard first (API keys,
// in-flight limit): see guard.ts.
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import type * as http from "node:http";
import * as http2 from "node:http2";
import { createServer as createTlsServer, type SecureContextOptions, type TLSSocket } from "node:tls";
import { createConnectRouter, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { Logger } from "../observe/log";
import type { ApiKeys } from "../security/api-keys";
import type { TlsMaterial, TlsSource } from "../security/tls-files";
import type { FloatPlacement } from "./direct-transport";
import { grpcUnaryHandler } from "./grpc-unary";
import { boundedErrorsInterceptor, checkUnaryDecode, createGuard, decodeErrorsInterceptor, refusalValues, requestGate } from "./guard";
import { universalStreamHandler, webHeaders } from "./h2-adapter";

export interface ListenerLimits {
  /** largest request or response message */
  maxMessageBytes: number;
  /** HTTP/2 streams one connection may have open */
  maxConcurrentStreams: number;
  /** calls served at once; more get RESOURCE_EXHAUSTED */
  maxInFlight: number;
}

export const DEFAULT_LIMITS: ListenerLimits = { maxMessageBytes: 64 * 1024 * 1024, maxConcurrentStreams: 1024, maxInFlight: 8192 };

export interface RpcListenerOptions {
  host: string;
  port: number;
  routes: (router: ConnectRouter) => void;
  log: Logger;
  /** run around every call of every service (metrics, logging) */
  interceptors?: Interceptor[];
  /** client keys; undefined = open */
  keys?: ApiKeys;
  /** serve TLS (and mTLS when the material has a client CA); undefined = plain text */
  tls?: TlsSource;
  limits?: ListenerLimits;
  /** plain GETs that are not RPCs (the web console), on HTTP/1.1 and HTTP/2 alike */
  pages?: PageHandler;
  /** where the plain-gRPC road decodes request vectors, per method (direct-transport.ts) */
  floats?: FloatPlacement;
}

/**
 * HTTP/2 receive window, per stream and per connection. With the 64 KiB default a
 * client sending a 3 MB MultiInsert waits for a WINDOW_UPDATE every 32 KiB, and a bulk
 * load's insert phase took ~13 % longer. Both windows are set to the same value on
 * purpose: Bun's setLocalWindowSize also raises the stream window it expects without
 * telling the peer (no SETTINGS frame), so a larger connection window alone, or one
 * larger than the advertised stream window, leaves the client waiting for stream
 * updates that never come (seen on Bun 1.4.5: a load stalled for good).
 */
const RECEIVE_WINDOW_BYTES = 16 * 1024 * 1024;

/** Answers a GET or HEAD for a URL it serves (path and query); undefined = not a page (the RPC roads take it). */
export type PageHandler = (url: string, header: (name: string) => string | undefined) => PageResponse | undefined;

export interface PageResponse {
  status: number;
  headers: Record<string, string>;
  body?: Uint8Array;
}

export interface RpcListener {
  /** the bound port (useful with port 0) */
  readonly port: number;
  /** stop accepting, let in-flight calls finish for up to graceMs, then drop connections */
  close(graceMs?: number): Promise<void>;
}

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0");

const CORS_HEADERS: Record<string, string> = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "POST, GET, OPTIONS",
  "access-control-allow-headers":
    "content-type, connect-protocol-version, connect-timeout-ms, grpc-timeout, x-grpc-web, x-user-agent, authorization, api-key",
  "access-control-expose-headers": "grpc-status, grpc-message, grpc-status-details-bin, connect-content-encoding",
  "access-control-max-age": "7200",
};

/** Per-service interceptor options replace the router's; keep the listener's in front of them. */
function withInterceptors(routes: (router: ConnectRouter) => void, outer: Interceptor[]): (router: ConnectRouter) => void {
  return (router) => {
    const wrapped: ConnectRouter = {
      handlers: router.handlers,
      service: (service, impl, options) => {
        router.service(service, impl, { ...options, interceptors: [...outer, ...(options?.interceptors ?? [])] });
        return wrapped;
      },
      rpc: (method, impl, options) => {
        router.rpc(method, impl, { ...options, interceptors: [...outer, ...(options?.interceptors ?? [])] });
        return wrapped;
      },
    };
    routes(wrapped);
  };
}

function secureOptions(m: TlsMaterial): SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean } {
  return { cert: m.cert, key: m.key, ca: m.clientCa, requestCert: m.clientCa !== undefined, rejectUnauthorized: m.clientCa !== undefined };
}

export function listenRpc(opts: RpcListenerOptions): Promise<RpcListener> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const maxBytes = limits.maxMessageBytes;
  const guard = createGuard(opts.keys, limits.maxInFlight);
  const routes = withInterceptors(opts.routes, [boundedErrorsInterceptor, decodeErrorsInterceptor, ...(opts.interceptors ?? [])]);
  const compressions = [compressionGzip, compressionBrotli];
  // HTTP/2: plain unary gRPC calls are served from the stream (grpc-unary.ts), the
  // rest by Connect's handlers on the same streams (h2-adapter.ts).
  const fast = grpcUnaryHandler({ routes, readMaxBytes: maxBytes, writeMaxBytes: maxBytes, floats: opts.floats });
  // Connect's handlers are built on the first call that needs them: building a handler
  // per method costs start-up time, and gRPC clients may never need them.
  let handlers: Map<string, UniversalHandler> | undefined;
  const connectHandlers = () => {
    if (handlers) return handlers;
    const router = createConnectRouter({ readMaxBytes: maxBytes, writeMaxBytes: maxBytes, acceptCompression: compressions, requestGate });
    routes(router);
    return (handlers = new Map(router.handlers.map((h) => [h.requestPath, checkUnaryDecode(h, maxBytes, compressions)])));
  };
  let viaConnect: ReturnType<typeof universalStreamHandler> | undefined;
  const h2 = http2.createServer({
    maxSessionMemory: 64,
    settings: { maxConcurrentStreams: limits.maxConcurrentStreams, initialWindowSize: RECEIVE_WINDOW_BYTES },
  });
  const pages = opts.pages;
  h2.on("stream", (stream: http2.ServerHttp2Stream, headers) => {
    const method = headers[":method"];
    if (pages && (method === "GET" || method === "HEAD")) {
      const p = pages(headers[":path"] ?? "", (n) => headers[n] as string | undefined);
      if (p !== undefined) {
        const body = method === "GET" ? p.body : undefined;
        stream.respond({ ":status": p.status, ...p.headers }, { endStream: body === undefined });
        if (body !== undefined) stream.end(body);
        return;
      }
    }
    const path = (headers[":path"] ?? "").split("?", 1)[0]!;
    const header = webHeaders(headers);
    const refusal = guard.admit(path, header);
    if (!refusal) stream.once("close", guard.release);
    if (fast(stream, headers, header, refusal)) return;
    (viaConnect ??= universalStreamHandler(connectHandlers()))(stream, headers, header, refusalValues(refusal));
  });
  // HTTP/1.1 (Connect, gRPC-web from browsers and curl), made on the first such
  // connection. Browsers call from other origins: answer CORS preflights.
  let h1: Promise<http.Server> | undefined;
  const httpOne = () =>
    (h1 ??= import("node:http").then(({ createServer }) =>
      createServer((req, res) => {
        const p = pages && (req.method === "GET" || req.method === "HEAD") ? pages(req.url ?? "", (n) => req.headers[n] as string | undefined) : undefined;
        if (p !== undefined) {
          res.writeHead(p.status, p.headers).end(req.method === "GET" ? p.body : undefined);
          return;
        }
        for (const [k, v] of Object.entries(CORS_HEADERS)) res.setHeader(k, v);
        if (req.method === "OPTIONS") {
          res.writeHead(204).end();
          return;
        }
        const path = (req.url ?? "").split("?", 1)[0]!;
        const handler = connectHandlers().get(path);
        if (handler === undefined) {
          res.writeHead(404).end();
          return;
        }
        const values = refusalValues(undefined);
        const uReq = universalRequestFromNodeRequest(req, res, undefined, values);
        const refusal = guard.admit(path, uReq.header);
        if (refusal) uReq.contextValues = refusalValues(refusal);
        else res.once("close", guard.release);
        handler(uReq)
          .then((uRes) => universalResponseToNodeResponse(uRes, res))
          .catch((e: unknown) => {
            opts.log.debug("HTTP/1.1 call ended with a broken connection", { err: e as Error, path });
            if (!res.headersSent) res.writeHead(500);
            res.destroy();
          });
      }),
    ));
  const toHttpOne = (socket: Socket) =>
    httpOne().then(
      (server) => {
        server.emit("connection", socket);
        socket.resume();
      },
      (e: Error) => {
        opts.log.error("HTTP/1.1 server unavailable", { err: e });
        socket.destroy();
      },
    );
  const sockets = new Set<Socket>();
  const sessions = new Set<http2.Http2Session>();
  h2.on("session", (s) => {
    sessions.add(s);
    s.setLocalWindowSize(RECEIVE_WINDOW_BYTES);
    s.on("close", () => sessions.delete(s));
  });
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", (e) => opts.log.debug("rpc socket error", { err: e }));
  };

  let server: NetServer;
  if (opts.tls) {
    const source = opts.tls;
    const tls = createTlsServer({ ALPNProtocols: ["h2", "http/1.1"], ...secureOptions(source.current()) }, (socket: TLSSocket) => {
      if (socket.alpnProtocol === "h2") h2.emit("connection", socket);
      else {
        socket.pause();
        void toHttpOne(socket);
      }
    });
    tls.on("connection", track);
    // plain text on a TLS port, unknown CAs, missing client certificates: the handshake
    // fails and the connection closes; the server carries on
    tls.on("tlsClientError", (e) => opts.log.debug("TLS handshake refused", { err: e }));
    const unsubscribe = source.onChange((m) => tls.setSecureContext(secureOptions(m)));
    tls.on("close", unsubscribe);
    server = tls;
  } else {
    server = createNetServer((socket) => {
      track(socket);
      socket.once("data", (first: Buffer) => {
        socket.pause();
        socket.unshift(first);
        const n = Math.min(first.length, H2_PREFACE.length);
        if (first.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) {
          h2.emit("connection", socket);
          socket.resume();
          return;
        }
        void toHttpOne(socket);
      });
    });
  }

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      const addr = server.address();
      const port = typeof addr === "object" && addr ? addr.port : opts.port;
      resolve({
        port,
        close: (graceMs = 5000) =>
          new Promise<void>((done) => {
            server.close();
            void h1?.then((s) => {
              s.close();
              s.closeIdleConnections?.();
            });
            h2.close();
            for (const s of sessions) s.close();
            const finish = () => {
              for (const s of sockets) s.destroy();
              done();
            };
            if (sockets.size === 0) return finish();
            const timer = setTimeout(finish, graceMs);
            const check = setInterval(() => {
              if (sockets.size === 0) {
                clearTimeout(timer);
                clearInterval(check);
                finish();
              }
            }, 20);
            timer.unref?.();
          }),
      });
    });
  });
}
