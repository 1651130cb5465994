// alvd server: the Vald gateway, the tunnel endpoint agents dial into, metrics, and
// (by default) an embedded agent called in-process.
import type { ServerConfig } from "../config/config";
import { startAgent, type StartedAgent } from "../agent/run";
import { createAgentHandle, createAgentPool } from "../gateway/agents";
import { createDirectTransport } from "../rpc/direct-transport";
import { createIndexer } from "../gateway/indexer";
import { gatewayRoutes } from "../gateway/routes";
import { serveObserve } from "../observe/http";
import type { Logger } from "../observe/log";
import { createRegistry, rpcMetricsInterceptor } from "../observe/metrics";
import { listenRpc } from "../rpc/listen";
import { createProtection } from "../security/protection";
import { listenTunnel } from "../tunnel/listener";
import { tunnelRegistry } from "./registry";

export async function runServer(cfg: ServerConfig, log: Logger): Promise<{ stop(): Promise<void>; reload(): void }> {
  const registry = createRegistry();
  const pool = createAgentPool();
  let ready = false;
  // one set of keys and certificates for the gateway, the embedded agent, the tunnel and metrics
  const ports = cfg.embeddedAgent ? `ports ${cfg.gateway.port} and ${cfg.agent.grpc.port}` : `port ${cfg.gateway.port}`;
  const protection = createProtection(cfg.security, log, ports);
  const observe = await serveObserve(cfg.metrics, registry, { ready: () => ready, metricsAllowed: protection.metricsAllowed, tls: protection.tls });
  const stack: (() => Promise<void>)[] = [async () => protection.close(), () => observe.close()];
  const unwind = async () => {
    for (const f of stack.splice(0).reverse()) await f().catch((e: Error) => log.error("shutdown step failed", { err: e }));
  };
  try {
    let embedded: StartedAgent | undefined;
    if (cfg.embeddedAgent) {
      embedded = await startAgent(cfg.agent, log, registry, undefined, protection);
      stack.push(() => embedded!.stop());
      pool.add(
        createAgentHandle({
          name: embedded.name,
          ips: [`${cfg.agent.grpc.host}:${embedded.port}`],
          transport: createDirectTransport(embedded.routes),
          stored: embedded.engine.counts().stored,
        }),
      );
    }
    const agents = tunnelRegistry(pool, registry, log, new Set(embedded ? [embedded.name] : []));
    const tunnel = await listenTunnel({
      host: cfg.tunnel.host,
      port: cfg.tunnel.port,
      token: cfg.token || undefined,
      tls: protection.tls,
      maxAgents: cfg.maxAgents,
      onAgent: (s) => agents.onAgent(s),
      onAgentGone: (s) => agents.onAgentGone(s),
      log,
    });
    stack.push(() => tunnel.close());
    const rpc = await listenRpc({
      host: cfg.gateway.host,
      port: cfg.gateway.port,
      routes: gatewayRoutes(pool, { replicas: cfg.replicas, log, registry, limits: cfg.limits }),
      log,
      interceptors: [rpcMetricsInterceptor(registry, "gateway")],
      keys: protection.keys,
      tls: protection.tls,
      limits: cfg.limits,
    });
    stack.push(() => rpc.close());
    const indexer = createIndexer(pool, {
      checkIndexIntervalMs: cfg.checkIndexIntervalMs,
      createIndexThreshold: cfg.createIndexThreshold,
      saveIntervalMs: cfg.saveIntervalMs,
      log,
    });
    indexer.start();
    stack.push(() => indexer.stop());
    ready = true;
    log.info("gateway listening", {
      addr: `${cfg.gateway.host}:${rpc.port}`,
      tunnel: `${cfg.tunnel.host}:${tunnel.port}`,
      metrics: `${cfg.metrics.host}:${observe.port}`,
      replicas: cfg.replicas,
      embedded: embedded?.name ?? "off",
    });
  } catch (e) {
    await unwind();
    throw e;
  }
  return {
    async stop() {
      ready = false;
      // Reverse start order: stop taking client calls, drop agents, then save the embedded agent.
      await unwind();
    },
    reload: () => protection.reload(),
  };
}
