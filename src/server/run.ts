// alvd server: the Vald gateway, the tunnel endpoint agents dial into, metrics, the
// self-healing repair, and (by default) an embedded agent called in-process.
import type { HooksConfig, ServerConfig } from "../config/config";
import { hooksOf, loadConfigFile, sectionFlags, settingsOf } from "../config/file";
import type { GatewayHooks } from "../gateway/context";
import type { HookOptions } from "../gateway/hooks";
import { startAgent, type StartedAgent } from "../agent/run";
import { stagingFloats } from "../agent/write-floats";
import { type AgentPool, createAgentHandle, createAgentPool } from "../gateway/agents";
import { createCoverage } from "../gateway/coverage";
import { IdLocks } from "../gateway/id-locks";
import { SearchBarrier } from "../gateway/search-barrier";
import { createTombstones } from "../gateway/tombstones";
import { createDirectTransport } from "../rpc/direct-transport";
import { createIndexer } from "../gateway/indexer";
import { createGateway, routesOf } from "../gateway/routes";
import { serveObserve } from "../observe/http";
import type { Logger } from "../observe/log";
import { createRegistry, rpcMetricsInterceptor } from "../observe/metrics";
import { loadConsole } from "../console/load";
import { listenRpc } from "../rpc/listen";
import { createProtection } from "../security/protection";
import { listenTunnel } from "../tunnel/listener";
import { adminRoutes } from "./admin";
import { backupRoutes } from "./backup";
import { createHealer, type Healer } from "./heal/healer";
import { createMembership } from "./heal/membership";
import { createRateHistory } from "./rates";
import { tunnelRegistry } from "./registry";

/** The config file's hooks into `target`; the implementation loads only when there are hooks. */
async function install(target: GatewayHooks, hooks: HooksConfig["hooks"], opts: HookOptions): Promise<string[]> {
  const names = Object.keys(hooks);
  if (names.length === 0 && Object.keys(target).length === 0) return names;
  const { installHooks } = await import("../gateway/hooks");
  installHooks(target, hooks, opts);
  return names;
}

/** SIGHUP: the file's hooks again; a file that no longer loads leaves the hooks as they were. */
function hookReloader(cfg: ServerConfig, target: GatewayHooks, opts: HookOptions, log: Logger): () => void {
  let queue = Promise.resolve();
  return () => {
    const file = cfg.hooks.file;
    if (file === undefined) return;
    queue = queue.then(async () => {
      try {
        const loaded = await loadConfigFile(file);
        sectionFlags(loaded, "server", "server");
        sectionFlags(loaded, "agent", "agent");
        const names = await install(target, hooksOf(loaded), opts);
        log.info("config file reloaded", { file, hooks: names.join(",") || "none" });
        if (settingsOf(loaded) !== cfg.hooks.settings) log.warn("settings changed in the config file apply at the next restart; only its hooks were reloaded", { file });
      } catch (e) {
        log.error("config file reload failed; the hooks loaded before stay in use", { file, err: (e as Error).message });
      }
    });
  };
}

/** True while the embedded agent is the only one: every write then lands there. */
function soleAgent(pool: AgentPool, name: string): () => boolean {
  return () => {
    const all = pool.list();
    return all.length === 1 && all[0]!.name === name;
  };
}

export async function runServer(cfg: ServerConfig, log: Logger): Promise<{ stop(): Promise<void>; reload(): void }> {
  const startedMs = Date.now();
  const registry = createRegistry();
  const pool = createAgentPool();
  let ready = false;
  let reloadHooks = () => {};
  // one set of keys and certificates for the gateway, the embedded agent, the tunnel and metrics
  const ports = cfg.embeddedAgent ? `ports ${cfg.gateway.port} and ${cfg.agent.grpc.port}` : `port ${cfg.gateway.port}`;
  const protection = createProtection(cfg.security, log, ports);
  const observe = await serveObserve(cfg.metrics, registry, { ready: () => ready, metricsAllowed: protection.metricsAllowed, tls: protection.tls });
  const stack: (() => Promise<void>)[] = [async () => protection.close(), () => observe.close()];
  const unwind = async () => {
    for (const f of stack.splice(0).reverse()) await f().catch((e: Error) => log.error("shutdown step failed", { err: e }));
  };
  const membership = createMembership({ lostAfterMs: cfg.heal.agentLostAfterMs, log: log.with({ component: "membership" }) });
  stack.push(async () => membership.close());
  const locks = new IdLocks();
  const searches = new SearchBarrier();
  const tombstones = createTombstones(() => membership.list().some((m) => m.state !== "connected"), log.with({ component: "gateway" }));
  let healer: Healer | undefined;
  const coverage = createCoverage(() => healer?.trigger("a write ended with fewer copies than asked"));
  // An agent gone takes its copies with it: searches stop counting on them at once.
  membership.onEvent((e) => {
    if (e.kind === "away") coverage.agentLeft();
  });
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
      membership.connected(embedded.name);
    }
    const agents = tunnelRegistry(pool, registry, log, new Set(embedded ? [embedded.name] : []), membership);
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
    healer = createHealer({
      pool,
      membership,
      locks,
      coverage,
      searches,
      tombstones,
      replicas: cfg.replicas,
      repairRate: cfg.heal.repairRate,
      rebalance: cfg.heal.rebalance,
      startGraceMs: cfg.heal.agentLostAfterMs,
      intervalMs: cfg.heal.repairIntervalMs,
      registry,
      log,
    });
    const hooks: GatewayHooks = {};
    const hookOpts: HookOptions = { timeoutMs: cfg.hooks.timeoutMs, limits: cfg.limits, log: log.with({ component: "hooks" }) };
    const installed = await install(hooks, cfg.hooks.hooks, hookOpts);
    if (installed.length > 0) log.info("config file hooks loaded", { file: cfg.hooks.file, hooks: installed.join(",") });
    reloadHooks = hookReloader(cfg, hooks, hookOpts, log);
    const gw = createGateway(pool, {
      replicas: cfg.replicas,
      log,
      registry,
      limits: cfg.limits,
      replicaTimeoutMs: cfg.heal.replicaTimeoutMs,
      writeConsistency: cfg.heal.writeConsistency,
      locks,
      coverage,
      searches,
      tombstones,
      hooks,
    });
    const gateway = routesOf(gw);
    const rates = createRateHistory(registry, "gateway");
    stack.push(async () => rates.close());
    const admin = adminRoutes({ pool, membership, healer, rates, link: (name) => agents.session(name), startedMs, keys: protection.keys });
    const backup = backupRoutes({ pool, log });
    const pages = cfg.console ? await loadConsole() : undefined;
    const rpc = await listenRpc({
      host: cfg.gateway.host,
      port: cfg.gateway.port,
      routes: (router) => {
        gateway(router);
        admin(router);
        backup(router);
      },
      log,
      interceptors: [rpcMetricsInterceptor(registry, "gateway"), rates.interceptor],
      keys: protection.keys,
      tls: protection.tls,
      limits: cfg.limits,
      pages,
      floats: embedded ? stagingFloats(embedded.engine, soleAgent(pool, embedded.name)) : undefined,
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
    if (cfg.ttlMs > 0) {
      const { createExpiry } = await import("../gateway/expiry");
      const expiry = createExpiry(gw, { ttlMs: cfg.ttlMs, intervalMs: cfg.checkIndexIntervalMs, log, registry });
      expiry.start();
      stack.push(() => expiry.stop());
    }
    const started = healer;
    started.start();
    stack.push(() => started.stop());
    ready = true;
    log.info("gateway listening", {
      addr: `${cfg.gateway.host}:${rpc.port}`,
      tunnel: `${cfg.tunnel.host}:${tunnel.port}`,
      metrics: `${cfg.metrics.host}:${observe.port}`,
      replicas: cfg.replicas,
      embedded: embedded?.name ?? "off",
      console: pages ? `${protection.tls ? "https" : "http"}://${cfg.gateway.host}:${rpc.port}/` : "off",
    });
  } catch (e) {
    await unwind();
    throw e;
  }
  return {
    async stop() {
      ready = false;
      // Reverse start order: stop repairing and taking client calls, drop agents, then save the embedded agent.
      await unwind();
    },
    reload: () => {
      protection.reload();
      reloadHooks();
    },
  };
}
