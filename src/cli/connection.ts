// How a client command reaches a server: gRPC over HTTP/2 (h2c, or TLS with ALPN h2),
// so it works against any Vald v1 server, not only alvd. Every command that talks to
// a server takes these options, and later ones (backup, restore) open sessions the same way.
import { readFileSync } from "node:fs";
import type { DescService } from "@bufbuild/protobuf";
import { createClient, type CallOptions, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import type { ClientValues } from "../config/client-flags";
import { ConfigError } from "../config/parse";
import type { Target } from "./errors";

export interface TlsOptions {
  caFile: string | undefined;
  certFile: string | undefined;
  keyFile: string | undefined;
  serverName: string | undefined;
}

export interface Connection {
  host: string;
  port: number;
  /** undefined = plain text (h2c) */
  tls: TlsOptions | undefined;
  apiKey: string | undefined;
  /** deadline of each unary call; undefined = none (streams run as long as they need) */
  timeoutMs: number | undefined;
}

const orUndefined = (s: string) => (s === "" ? undefined : s);

export function connectionOf(f: ClientValues): Connection {
  const tls = {
    caFile: orUndefined(f["tls-ca-file"]),
    certFile: orUndefined(f["tls-cert-file"]),
    keyFile: orUndefined(f["tls-key-file"]),
    serverName: orUndefined(f["tls-server-name"]),
  };
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    throw new ConfigError("--tls-cert-file and --tls-key-file go together: give both (client certificate and its key) or neither");
  }
  const useTls = f.tls || Object.values(tls).some((x) => x !== undefined);
  return {
    host: f.host,
    port: f.port,
    tls: useTls ? tls : undefined,
    apiKey: f["api-key"][0],
    // only the unary commands take --timeout; 0 = none
    timeoutMs: f.timeout || undefined,
  };
}

export interface Session {
  target: Target;
  client<S extends DescService>(service: S): Client<S>;
  /** options for a unary call: the deadline */
  unary(): CallOptions;
  close(): void;
}

function readPem(flag: string, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`--${flag}: cannot read ${path}: ${(e as Error).message}`);
  }
}

export function openSession(conn: Connection): Session {
  const host = conn.host.includes(":") && !conn.host.startsWith("[") ? `[${conn.host}]` : conn.host;
  const url = `${conn.tls ? "https" : "http"}://${host}:${conn.port}`;
  const nodeOptions = conn.tls
    ? {
        ca: readPem("tls-ca-file", conn.tls.caFile),
        cert: readPem("tls-cert-file", conn.tls.certFile),
        key: readPem("tls-key-file", conn.tls.keyFile),
        servername: conn.tls.serverName,
      }
    : {};
  const sessions = new Http2SessionManager(url, {}, nodeOptions);
  const interceptors: Interceptor[] = [];
  const key = conn.apiKey;
  if (key !== undefined) {
    interceptors.push((next) => (req) => {
      req.header.set("authorization", `Bearer ${key}`);
      return next(req);
    });
  }
  const transport = createGrpcTransport({ baseUrl: url, sessionManager: sessions, interceptors });
  return {
    target: { address: `${conn.host}:${conn.port}`, tls: conn.tls !== undefined, key: key !== undefined },
    client: (service) => createClient(service, transport),
    unary: () => (conn.timeoutMs === undefined ? {} : { timeoutMs: conn.timeoutMs }),
    close: () => sessions.abort(),
  };
}
