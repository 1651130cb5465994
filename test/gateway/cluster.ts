// Test cluster: N real agents (engine + agentRoutes + native index) behind a gateway served
// on 127.0.0.1, reached by a gRPC client like any Vald client would.
import { Code, ConnectError, createClient, type Client, type ConnectRouter, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createRouterTransport } from "@connectrpc/connect";
import { Registry } from "../../src/observe/prom";
import { createEngine } from "../../src/agent/engine";
import type { Engine } from "../../src/agent/engine/types";
import { agentRoutes } from "../../src/agent/routes";
import { agentClients, createAgentHandle, createAgentPool, type AgentClients, type AgentHandle, type AgentPool } from "../../src/gateway/agents";
import { createDirectTransport } from "../../src/rpc/direct-transport";
import { gatewayRoutes, type GatewayOptions } from "../../src/gateway/routes";
import { Filter } from "../../src/gen/vald/v1/filter_pb";
import { createLogger } from "../../src/observe/log";
import { listenRpc, type RpcListener } from "../../src/rpc/listen";

export const log = createLogger({ level: (process.env.TEST_LOG_LEVEL as "debug" | undefined) ?? "error", format: "text" });

/** background failures (auto CreateIndex, periodic save) per test engine: a cluster's close() fails on any */
const backgroundErrors = new WeakMap<Engine, string[]>();

export async function testEngine(name: string, dimension: number): Promise<Engine> {
  const errors: string[] = [];
  const engine = await createEngine(
    {
      name,
      ips: [`10.0.0.${name.replace(/\D/g, "") || "1"}`],
      dimension,
      metric: "l2sq",
      quantization: "f32",
      connectivity: 16,
      expansionAdd: 64,
      // test sets are small: an ef this wide makes HNSW answers exact, so they can be
      // compared with brute force
      expansionSearch: 512,
      simd: "auto",
      createIndexThreshold: 0,
      checkIndexIntervalMs: 0,
      saveIntervalMs: 0,
      indexThreads: 1,
    },
    {
      onBackgroundError: (what, err) => {
        errors.push(`${name}: ${what}: ${(err as Error).message ?? String(err)}`);
        log.error(`${what} failed`, { agent: name, err: err as Error });
      },
    },
  );
  backgroundErrors.set(engine, errors);
  return engine;
}

export type TransportKind = "direct" | "router";

export interface TestAgent {
  name: string;
  engine: Engine;
  handle: AgentHandle;
}

export async function testAgent(name: string, dimension: number, kind: TransportKind = "direct", wrap?: (routes: (r: ConnectRouter) => void) => (r: ConnectRouter) => void): Promise<TestAgent> {
  const engine = await testEngine(name, dimension);
  let routes = agentRoutes(engine, log);
  if (wrap) routes = wrap(routes);
  const transport: Transport = kind === "direct" ? createDirectTransport(routes) : createRouterTransport(routes);
  return { name, engine, handle: createAgentHandle({ name, ips: engine.options.ips, transport }) };
}

/** every service of the gateway port: the agent services plus Filter */
export interface ValdClients extends AgentClients {
  filter: Client<typeof Filter>;
}

export interface TestCluster {
  agents: TestAgent[];
  pool: AgentPool;
  registry: Registry;
  client: ValdClients;
  /** the gateway's port on 127.0.0.1 */
  port: number;
  close(): Promise<void>;
}

export async function startCluster(n: number, opts: Partial<GatewayOptions> & { dimension?: number; kind?: TransportKind; agents?: TestAgent[] } = {}): Promise<TestCluster> {
  const dimension = opts.dimension ?? 8;
  const agents = opts.agents ?? (await Promise.all(Array.from({ length: n }, (_, i) => testAgent(`agent-${i + 1}`, dimension, opts.kind))));
  const pool = createAgentPool(agents.map((a) => a.handle));
  const registry = new Registry();
  const listener: RpcListener = await listenRpc({
    host: "127.0.0.1",
    port: 0,
    log,
    routes: gatewayRoutes(pool, { replicas: 1, log, registry, ...opts }),
  });
  const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${listener.port}` });
  const client: ValdClients = { ...agentClients(transport), filter: createClient(Filter, transport) };
  return {
    agents,
    pool,
    registry,
    client,
    port: listener.port,
    async close() {
      await listener.close(100);
      await Promise.all(agents.map((a) => a.engine.close()));
      const failed = agents.flatMap((a) => backgroundErrors.get(a.engine) ?? []);
      if (failed.length > 0) throw new Error(`background work failed in the test cluster: ${failed.join("; ")}`);
    },
  };
}

/** deterministic pseudo-random vectors */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function randomVector(r: () => number, d: number): number[] {
  return Array.from({ length: d }, () => r() * 2 - 1);
}

/** "ok", or the gRPC code the call failed with */
export async function codeOf(p: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await p;
    return "ok";
  } catch (e) {
    return ConnectError.from(e).code;
  }
}
