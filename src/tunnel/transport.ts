// A Connect Transport whose calls travel through one agent's tunnel, so the
// server uses ordinary generated clients: createClient(Search, transport).
import type { Interceptor, Transport } from "@connectrpc/connect";
import { createTransport } from "@connectrpc/connect/protocol-grpc";
import { createTunnelClient } from "./call";
import { tunnelUnary } from "./unary";
import type { Mux } from "./mux";

export interface TunnelTransportOptions {
  /** limits per message; bulk inserts of 784-d vectors exceed gRPC's usual 4 MiB */
  readMaxBytes?: number;
  writeMaxBytes?: number;
  /** applied when a call gives no timeout; 0 or undefined: none */
  defaultTimeoutMs?: number;
  interceptors?: Interceptor[];
}

export const TUNNEL_MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

export function createTunnelTransport(mux: Mux, opts: TunnelTransportOptions = {}): Transport {
  const connect = createTransport({
    httpClient: createTunnelClient(mux),
    // only the path crosses the tunnel; the host part is never used
    baseUrl: "http://tunnel",
    useBinaryFormat: true,
    interceptors: opts.interceptors ?? [],
    acceptCompression: [],
    sendCompression: null,
    compressMinBytes: Number.MAX_SAFE_INTEGER,
    readMaxBytes: opts.readMaxBytes ?? TUNNEL_MAX_MESSAGE_BYTES,
    writeMaxBytes: opts.writeMaxBytes ?? TUNNEL_MAX_MESSAGE_BYTES,
    defaultTimeoutMs: opts.defaultTimeoutMs || undefined,
  });
  // Unary calls (what the gateway makes per search and write) skip Connect's client
  // pipeline (tunnel/unary.ts); streams and calls with interceptors keep it.
  if (opts.interceptors?.length) return connect;
  const limits = { readMaxBytes: opts.readMaxBytes ?? TUNNEL_MAX_MESSAGE_BYTES, writeMaxBytes: opts.writeMaxBytes ?? TUNNEL_MAX_MESSAGE_BYTES };
  return {
    unary: (method, signal, timeoutMs, header, input) =>
      tunnelUnary(mux, limits, method, signal, timeoutMs ?? (opts.defaultTimeoutMs || undefined), header, input),
    stream: (...args) => connect.stream(...args),
  };
}
