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
import { listenTunnel } from "../tunnel/listener";
import { tunnelRegistry } from "./registry";

export async function runServer(cfg: ServerConfig, log: Logger): Promise<{ stop(): Promise<void> }> {
  const registry = createRegistry();
  const pool = createAgentPool();
  let ready = false;
  const observe = await serveObserve(cfg.metrics, registry, () => ready);
  const stack: (() => Promise<void>)[] = [() => observe.close()];
  const unwind = async () => {
    for (const f of stack.splice(0).reverse()) await f().catch((e: Error) => log.error("shutdown step failed", { err: e }));
  };
  try {
    let embedded: StartedAgent | undefined;
    if (cfg.embeddedAgent) {
      embedded = await startAgent(cfg.agent, log, registry);
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
      onAgent: (s) => agents.onAgent(s),
      onAgentGone: (s) => agents.onAgentGone(s),
      log,
    });
    stack.push(() => tunnel.close());
    const rpc = await listenRpc({
      host: cfg.gateway.host,
      port: cfg.gateway.port,
      routes: gatewayRoutes(pool, { replicas: cfg.replicas, log, registry }),
      log,
      interceptors: [rpcMetricsInterceptor(registry, "gateway")],
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
  };
}
