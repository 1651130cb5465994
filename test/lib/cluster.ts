// Real alvd servers and agents on 127.0.0.1 free ports, for end-to-end tests.
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { DescService } from "@bufbuild/protobuf";
import { Index } from "../../src/gen/vald/v1/index_pb";
import { freePorts } from "./ports";
import { spawnAlvd, waitHttpOk, type Running } from "./process";

export interface ServerProc extends Running {
  grpcPort: number;
  wsPort: number;
  metricsPort: number;
  agentPort: number;
  base: string;
  /** a Connect (HTTP/1.1, binary) client; with apiKey, every call sends it as a Bearer token */
  client<S extends DescService>(service: S, apiKey?: string): Client<S>;
}

export interface AgentProc extends Running {
  grpcPort: number;
  metricsPort: number;
  name: string;
}

export async function startServer(
  opts: { dimension?: number; embeddedAgent?: boolean; token?: string; extra?: string[]; ports?: number[]; cmd?: string[]; tlsCa?: string } = {},
): Promise<ServerProc> {
  const [grpcPort, wsPort, metricsPort, agentPort] = opts.ports ?? (await freePorts(4));
  const args = [
    "server",
    "--server-grpc-host=127.0.0.1",
    `--server-grpc-port=${grpcPort}`,
    `--server=127.0.0.1:${wsPort}`,
    "--metrics-host=127.0.0.1",
    `--metrics-port=${metricsPort}`,
    "--grpc-host=127.0.0.1",
    `--grpc-port=${agentPort}`,
    `--dimension=${opts.dimension ?? 8}`,
    `--agent=${opts.embeddedAgent ?? true}`,
    ...(opts.token ? [`--token=${opts.token}`] : []),
    ...(opts.extra ?? []),
  ];
  const running = spawnAlvd(args, { cmd: opts.cmd });
  // with TLS on, the metrics port speaks https with the same certificate
  await waitHttpOk(`${opts.tlsCa ? "https" : "http"}://127.0.0.1:${metricsPort}/readyz`, running, 20_000, opts.tlsCa);
  const base = `${opts.tlsCa ? "https" : "http"}://127.0.0.1:${grpcPort}`;
  const transport = (apiKey?: string) =>
    createConnectTransport({
      baseUrl: base,
      httpVersion: "1.1",
      useBinaryFormat: true,
      nodeOptions: opts.tlsCa ? { ca: opts.tlsCa } : undefined,
      interceptors: apiKey ? [(next) => (req) => (req.header.set("authorization", `Bearer ${apiKey}`), next(req))] : [],
    });
  return {
    ...running,
    grpcPort: grpcPort!,
    wsPort: wsPort!,
    metricsPort: metricsPort!,
    agentPort: agentPort!,
    base,
    client: (service, apiKey) => createClient(service, transport(apiKey)),
  };
}

export async function startAgent(
  opts: { servers: number[]; name: string; dimension?: number; token?: string; indexPath?: string; extra?: string[]; cmd?: string[]; tlsCa?: string },
): Promise<AgentProc> {
  const [grpcPort, metricsPort] = await freePorts(2);
  const args = [
    "agent",
    `--server=${opts.servers.map((p) => `127.0.0.1:${p}`).join(",")}`,
    `--name=${opts.name}`,
    "--grpc-host=127.0.0.1",
    `--grpc-port=${grpcPort}`,
    "--metrics-host=127.0.0.1",
    `--metrics-port=${metricsPort}`,
    `--dimension=${opts.dimension ?? 8}`,
    ...(opts.token ? [`--token=${opts.token}`] : []),
    ...(opts.indexPath ? [`--index-path=${opts.indexPath}`] : []),
    ...(opts.extra ?? []),
  ];
  const running = spawnAlvd(args, { cmd: opts.cmd });
  await waitHttpOk(`${opts.tlsCa ? "https" : "http"}://127.0.0.1:${metricsPort}/readyz`, running, 20_000, opts.tlsCa);
  return { ...running, grpcPort: grpcPort!, metricsPort: metricsPort!, name: opts.name };
}

/** Wait until the server lists exactly these agents (IndexDetail is keyed by agent name). */
export async function waitForAgents(server: ServerProc, names: string[], timeoutMs = 20_000, apiKey?: string): Promise<void> {
  const want = [...names].sort().join(",");
  const end = Date.now() + timeoutMs;
  let got = "";
  while (Date.now() < end) {
    try {
      const d = await server.client(Index, apiKey).indexDetail({});
      got = Object.keys(d.counts).sort().join(",");
      if (got === want) return;
    } catch {
      // server still starting
    }
    await Bun.sleep(50);
  }
  throw new Error(`server saw agents [${got}], wanted [${want}]\n${server.logs()}`);
}

/** Deterministic pseudo-random vectors so failures reproduce. */
export function vectors(n: number, dim: number, seed = 1): { id: string; vector: number[] }[] {
  let s = seed >>> 0;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  return Array.from({ length: n }, (_, i) => ({ id: `v-${seed}-${i}`, vector: Array.from({ length: dim }, rnd) }));
}

export async function metricValue(port: number, name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(name + " ") || l.startsWith(name + "{"));
  return line === undefined ? undefined : Number(line.split(" ").pop());
}
