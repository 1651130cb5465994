// One port for every RPC flavour: gRPC clients speak prior-knowledge HTTP/2 (h2c),
// browsers and curl speak HTTP/1.1 (Connect, gRPC-web). node:http2 without TLS only
// does h2c, so a plain TCP server peeks at the first bytes and hands the socket to
// the right HTTP server. The HTTP/1.1 server is made on the first HTTP/1.1 connection:
// gRPC-only deployments never load node:http, and start-up skips it.
import { createServer as createNetServer, type Socket } from "node:net";
import type * as http from "node:http";
import * as http2 from "node:http2";
import { createConnectRouter, type ConnectRouter } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip, connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "../observe/log";
import { grpcUnaryHandler } from "./grpc-unary";
import { universalStreamHandler } from "./h2-adapter";
import type { Interceptor } from "@connectrpc/connect";

export interface RpcListenerOptions {
  host: string;
  port: number;
  routes: (router: ConnectRouter) => void;
  log: Logger;
  /** observes every call (metrics, logging) */
  interceptors?: Interceptor[];
}

export interface RpcListener {
  /** the bound port (useful with port 0) */
  readonly port: number;
  /** stop accepting, let in-flight calls finish for up to graceMs, then drop connections */
  close(graceMs?: number): Promise<void>;
}

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0");
/** Bulk inserts of a few thousand 784-d vectors exceed gRPC's usual 4 MiB. */
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

const CORS_HEADERS: Record<string, string> = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "POST, GET, OPTIONS",
  "access-control-allow-headers":
    "content-type, connect-protocol-version, connect-timeout-ms, grpc-timeout, x-grpc-web, x-user-agent, authorization",
  "access-control-expose-headers": "grpc-status, grpc-message, grpc-status-details-bin, connect-content-encoding",
  "access-control-max-age": "7200",
};

export function listenRpc(opts: RpcListenerOptions): Promise<RpcListener> {
  // HTTP/2: plain unary gRPC calls are served from the stream (grpc-unary.ts), the
  // rest by Connect's handlers on the same streams (h2-adapter.ts).
  const limits = { readMaxBytes: MAX_MESSAGE_BYTES, writeMaxBytes: MAX_MESSAGE_BYTES, interceptors: opts.interceptors };
  // the compressions connect-node's adapter accepts by default (gRPC clients may gzip)
  const connectOptions = { ...limits, acceptCompression: [compressionGzip, compressionBrotli] };
  const fast = grpcUnaryHandler({ routes: opts.routes, ...limits });
  // Connect's handlers are built on the first call that needs them: building a handler
  // per method costs start-up time, and gRPC clients may never need them.
  let connect: ReturnType<typeof universalStreamHandler> | undefined;
  const viaConnect = () => {
    if (connect) return connect;
    const router = createConnectRouter(connectOptions);
    opts.routes(router);
    return (connect = universalStreamHandler(router.handlers));
  };
  const h2 = http2.createServer({ maxSessionMemory: 64 });
  h2.on("stream", (stream: http2.ServerHttp2Stream, headers) => {
    if (!fast(stream, headers)) viaConnect()(stream, headers);
  });
  // HTTP/1.1 (Connect, gRPC-web from browsers and curl) through connect-node, made on the
  // first such connection. Browsers call from other origins: answer CORS preflights.
  let h1: Promise<http.Server> | undefined;
  const httpOne = () =>
    (h1 ??= import("node:http").then(({ createServer }) => {
      const handler = connectNodeAdapter({ routes: opts.routes, ...connectOptions });
      return createServer((req, res) => {
        for (const [k, v] of Object.entries(CORS_HEADERS)) res.setHeader(k, v);
        if (req.method === "OPTIONS") {
          res.writeHead(204).end();
          return;
        }
        handler(req, res);
      });
    }));
  const sockets = new Set<Socket>();
  const sessions = new Set<http2.Http2Session>();
  h2.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });

  const tcp = createNetServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", (e) => opts.log.debug("rpc socket error", { err: e }));
    socket.once("data", (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      const n = Math.min(first.length, H2_PREFACE.length);
      if (first.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) {
        h2.emit("connection", socket);
        socket.resume();
        return;
      }
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
    });
  });

  return new Promise((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(opts.port, opts.host, () => {
      tcp.off("error", reject);
      const addr = tcp.address();
      const port = typeof addr === "object" && addr ? addr.port : opts.port;
      resolve({
        port,
        close: (graceMs = 5000) =>
          new Promise<void>((done) => {
            tcp.close();
            void h1?.then((server) => {
              server.close();
              server.closeIdleConnections?.();
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
