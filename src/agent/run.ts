// alvd agent: serves vald.v1.* and core.v1.Agent on its own port, exports metrics and
// health, and (with --server) dials servers so they can reach the same routes.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { createConnectRouter, type ConnectRouter } from "@connectrpc/connect";
import { Counter, Gauge, type Registry } from "../observe/prom";
import type { AgentConfig } from "../config/config";
import { serveObserve } from "../observe/http";
import type { Logger } from "../observe/log";
import { createRegistry, rpcMetricsInterceptor } from "../observe/metrics";
import { createDirectTransport } from "../rpc/direct-transport";
import { listenRpc } from "../rpc/listen";
import { ConfigError } from "../config/parse";
import { createProtection, type Protection } from "../security/protection";
import { dialTunnel, type DialTls, type TunnelDialer } from "../tunnel/dialer";
import { isValidAgentName } from "../tunnel/hello";
import { createEngine as createNativeEngine } from "./engine";
import { describeHugePages } from "../index/huge-pages";
import type { GraphRepair } from "../index/types";
import type { RecoveryReport } from "./engine";
import type { Engine, EngineOptions } from "./engine/types";
import { agentRoutes } from "./routes";
import { stagingFloats } from "./write-floats";

export type EngineFactory = (options: EngineOptions) => Promise<Engine>;

export interface StartedAgent {
  readonly engine: Engine;
  /** the agent's routes, for a tunnel or an in-process router */
  readonly routes: (router: ConnectRouter) => void;
  readonly name: string;
  /** bound gRPC port */
  readonly port: number;
  /** index loaded and port serving, not shutting down */
  ready(): boolean;
  /** refuse new calls (Unavailable), drain the port, close the engine (saves) */
  stop(): Promise<void>;
}

const NAME_FILE = "agent-name";
/** same limit as the gRPC port (bulk inserts of 784-d vectors) */
const MAX_TUNNEL_MESSAGE_BYTES = 256 * 1024 * 1024;

/** --name, else the name kept in the index directory, else a new one (kept there when possible). */
export async function resolveAgentName(name: string, indexPath: string | undefined): Promise<string> {
  // Servers know agents by name (tunnel hello, Object.Location.name): refuse one they would reject.
  const valid = (n: string, from: string) => {
    if (!isValidAgentName(n)) {
      throw new Error(`agent name ${JSON.stringify(n)} (${from}) must be 1-128 characters of letters, digits and . _ : @ -, starting with a letter or digit`);
    }
    return n;
  };
  if (name) return valid(name, "--name");
  if (indexPath) {
    const kept = await readFile(join(indexPath, NAME_FILE), "utf8").then(
      (s) => s.trim(),
      () => "",
    );
    if (kept) return valid(kept, join(indexPath, NAME_FILE));
  }
  const fresh = `agent-${randomBytes(4).toString("hex")}`;
  if (indexPath) {
    // Stable across restarts: the server recognises the agent (and its data) by name.
    await mkdir(indexPath, { recursive: true });
    const tmp = join(indexPath, `${NAME_FILE}.tmp`);
    await writeFile(tmp, `${fresh}\n`);
    await rename(tmp, join(indexPath, NAME_FILE));
  }
  return fresh;
}

/** Addresses reported in Object.Location.ips: the bind host, or every external address when bound to all. */
function agentIps(host: string): string[] {
  if (host !== "0.0.0.0" && host !== "::" && host !== "") return [host];
  const ips: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && a.family === "IPv4") ips.push(a.address);
  }
  return ips.length > 0 ? ips : ["127.0.0.1"];
}

export function engineOptions(cfg: AgentConfig, name: string): EngineOptions {
  const ix = cfg.index;
  return {
    name,
    ips: agentIps(cfg.grpc.host),
    dimension: ix.dimension,
    metric: ix.metric,
    quantization: ix.quantization,
    connectivity: ix.connectivity,
    // Vald exposes no construction-time ef; max(128, 4·M) is the usual HNSW choice:
    // build quality well past the knee of the recall curve for M up to 32, and it
    // grows with M so wide graphs still find good neighbours while being built.
    expansionAdd: Math.max(128, 4 * ix.connectivity),
    expansionSearch: ix.expansionSearch,
    simd: ix.simd,
    indexPath: ix.indexPath,
    createIndexThreshold: ix.createIndexThreshold,
    checkIndexIntervalMs: ix.checkIndexIntervalMs,
    saveIntervalMs: ix.saveIntervalMs,
    indexThreads: ix.indexThreads,
    keepGenerations: ix.keepGenerations,
    recover: ix.recover,
    crashAt: ix.crashAt,
  };
}

function registerEngineGauges(registry: Registry, engine: Engine): void {
  const labels = { agent: engine.options.name };
  const gauge = (name: string, help: string, value: () => number) =>
    new Gauge({
      name,
      help,
      labelNames: ["agent"],
      registers: [registry],
      collect() {
        this.set(labels, value());
      },
    });
  gauge("alvd_agent_index_stored", "Vectors stored (committed and uncommitted)", () => engine.counts().stored);
  gauge("alvd_agent_index_uncommitted", "Vectors waiting for CreateIndex", () => engine.counts().uncommitted);
  gauge("alvd_agent_index_indexing", "1 while CreateIndex runs", () => Number(engine.counts().indexing));
  gauge("alvd_agent_index_saving", "1 while SaveIndex runs", () => Number(engine.counts().saving));
  gauge("alvd_agent_index_memory_bytes", "Bytes held by the native index (graph + vectors)", () => engine.memoryUsage());
  gauge("alvd_agent_write_failed", "1 while the agent refuses writes after a failed log write or save (restart it on a working disk)", () =>
    Number(engine.writeHealth().failed !== null),
  );
  gauge("alvd_agent_index_scanned_vectors", "Vectors the HNSW graph does not reach, scanned by every search beside it (a few per 10k are normal)", () =>
    engine.graphRepairs().stranded,
  );
  new Counter({
    name: "alvd_agent_index_relinked_total",
    help: "Vectors the HNSW graph did not reach after a CreateIndex or load, linked into it again",
    labelNames: ["agent"],
    registers: [registry],
    collect() {
      this.reset();
      this.inc(labels, engine.graphRepairs().relinked);
    },
  });
  new Counter({
    name: "alvd_agent_writes_refused_total",
    help: "Writes refused because the agent stopped taking writes after a failed log write or save",
    labelNames: ["agent"],
    registers: [registry],
    collect() {
      this.reset();
      this.inc(labels, engine.writeHealth().refused);
    },
  });
}

function logRecovery(log: Logger, r: RecoveryReport): void {
  const summary = { generation: r.generation, replayed: r.replayedRecords, torn: r.tornSegments };
  if (r.problems.length === 0) {
    log.info("recovered from index path", summary);
    return;
  }
  // loud on purpose: an operator should learn that a file was damaged, and where it went
  for (const problem of r.problems) log.error(`index path: ${problem}`, r.movedTo ? { movedTo: r.movedTo } : {});
  log.warn(r.lossy ? "recovered with loss (--recover): check what the log lines above say is gone" : "recovered from index path despite damage", summary);
}

/** An HNSW graph can hold vectors no search reaches; the index links them again or scans them (GraphRepair). */
function logGraphRepair(log: Logger, where: string, r: GraphRepair, stored: number, connectivity: number): void {
  if (r.relinked > 0) log.info(`linked ${r.relinked} vectors of ${where} again that no search could reach`);
  if (r.stranded === 0) return;
  const line = `${r.stranded} vectors of ${where} stay outside the graph's reach after relinking; every search scans them, so none is missed`;
  // a few per 10k are normal; beyond 1 in 1000 the scan costs searches noticeably
  if (r.stranded * 1000 <= stored) log.info(line);
  else log.warn(`${line}, but that is ${((100 * r.stranded) / stored).toFixed(2)} % of the vectors: a larger --creation-edge-size (now ${connectivity}) builds a better connected graph`);
}

function nativeEngineFactory(log: Logger): EngineFactory {
  return (options) =>
    createNativeEngine(options, {
      onBackgroundError: (what, err) => log.error(`${what} failed`, { err: err as Error }),
      onRecovered: (r) => logRecovery(log, r),
      onGraphRepaired: (what, r, stored) => logGraphRepair(log, what, r, stored, options.connectivity),
      onWritesStopped: (reason) =>
        log.error(
          `refusing writes from now on because ${reason}. Reads keep working. To resume writes, fix the disk under --index-path ` +
            `(free space, permissions, hardware) and restart the agent: it reloads its snapshot and log and loses nothing it acknowledged`,
        ),
    });
}

/**
 * Starts the agent's engine and gRPC port, registering its metrics on `registry`.
 * The server uses this for its embedded agent (calling `engine` in-process and
 * serving `routes` on the agent's own port); `runAgent` adds metrics and tunnels.
 */
export async function startAgent(
  cfg: AgentConfig,
  log: Logger,
  registry: Registry,
  createEngine?: EngineFactory,
  protection: Protection = createProtection(cfg.security, log, `the agent's port ${cfg.grpc.port}`),
): Promise<StartedAgent> {
  const name = await resolveAgentName(cfg.name, cfg.index.indexPath);
  const alog = log.with({ agent: name });
  const t0 = performance.now();
  const engine = await (createEngine ?? nativeEngineFactory(alog))(engineOptions(cfg, name));
  const counts = engine.counts();
  alog.info("index loaded", {
    // the distance kernel picked for this metric and type on this CPU (e.g. haswell = AVX2+FMA, skylake/genoa/sapphire = AVX-512 flavours, neon/sve on arm64)
    kernel: `${cfg.index.metric} ${cfg.index.quantization}: ${engine.isa}`,
    isa: engine.isa,
    simd: cfg.index.simd,
    // the index's graph and vectors on 2 MiB pages: fewer TLB misses per search hop
    hugePages: describeHugePages(),
    dimension: cfg.index.dimension,
    stored: counts.stored,
    uncommitted: counts.uncommitted,
    path: cfg.index.indexPath ?? "(memory)",
    ms: Math.round(performance.now() - t0),
  });
  let stopping = false;
  let serving = false;
  // Metrics live in the routes, so calls arriving through a tunnel are counted too.
  const routes = agentRoutes(engine, alog, { available: () => !stopping }, [rpcMetricsInterceptor(registry, "agent")], cfg.limits);
  let rpc;
  try {
    rpc = await listenRpc({
      host: cfg.grpc.host,
      port: cfg.grpc.port,
      routes,
      log: alog,
      keys: protection.keys,
      tls: protection.tls,
      limits: cfg.limits,
      floats: stagingFloats(engine),
    });
  } catch (e) {
    await engine.close().catch(() => undefined);
    throw new Error(`agent gRPC port ${cfg.grpc.host}:${cfg.grpc.port}: ${(e as Error).message}`, { cause: e });
  }
  registerEngineGauges(registry, engine);
  serving = true;
  alog.info("agent listening", { addr: `${cfg.grpc.host}:${rpc.port}` });
  const listener = rpc;
  return {
    engine,
    routes,
    name,
    port: listener.port,
    ready: () => serving && !stopping,
    async stop() {
      if (stopping) return;
      stopping = true;
      await listener.close();
      serving = false;
      await engine.close();
      alog.info("agent stopped", { stored: engine.counts().stored });
    },
  };
}

/** What the agent presents when it dials a server over wss://, read anew at every dial. */
function dialTls(cfg: AgentConfig, protection: Protection, log: Logger): () => DialTls {
  const caFile = cfg.tunnelTls.caFile;
  const readCa = () => {
    if (caFile === undefined) return undefined;
    try {
      return readFileSync(caFile, "utf8");
    } catch (e) {
      throw new ConfigError(`--tls-ca-file: cannot read ${caFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  let ca = readCa();
  return () => {
    try {
      ca = readCa();
    } catch (e) {
      log.error("cannot re-read the tunnel CA file; dialing with the one read before", { err: e as Error });
    }
    // the agent's own certificate doubles as its client certificate for servers that require one
    const own = protection.tls?.current();
    return { ca, cert: own?.cert, key: own?.key };
  };
}

export async function runAgent(cfg: AgentConfig, log: Logger, createEngine?: EngineFactory): Promise<{ stop(): Promise<void>; reload(): void }> {
  const registry = createRegistry();
  const protection = createProtection(cfg.security, log, `the agent's port ${cfg.grpc.port}`);
  const tls = dialTls(cfg, protection, log);
  let agent: StartedAgent | undefined;
  // Metrics and /healthz come up first so a slow index load is visible as "not ready".
  const observe = await serveObserve(cfg.metrics, registry, {
    ready: () => agent?.ready() ?? false,
    metricsAllowed: protection.metricsAllowed,
    tls: protection.tls,
  });
  try {
    agent = await startAgent(cfg, log, registry, createEngine, protection);
  } catch (e) {
    await observe.close();
    protection.close();
    throw e;
  }
  // One tunnel per server (HA), all serving the very routes of the agent's own port.
  const router = createConnectRouter({
    readMaxBytes: MAX_TUNNEL_MESSAGE_BYTES,
    writeMaxBytes: MAX_TUNNEL_MESSAGE_BYTES,
  });
  agent.routes(router);
  const fastUnary = { transport: createDirectTransport(agent.routes, [], stagingFloats(agent.engine)), readMaxBytes: MAX_TUNNEL_MESSAGE_BYTES, writeMaxBytes: MAX_TUNNEL_MESSAGE_BYTES };
  const started = agent;
  const tunnels: TunnelDialer[] = cfg.servers.map((s) =>
    dialTunnel({
      server: `${s.host}:${s.port}`,
      secure: cfg.tunnelTls.force || cfg.tunnelTls.caFile !== undefined,
      tls,
      name: started.name,
      token: cfg.token || undefined,
      handlers: router.handlers,
      fastUnary,
      log: log.with({ agent: started.name }),
    }),
  );
  log.info("metrics listening", { addr: `${cfg.metrics.host}:${observe.port}` });
  return {
    async stop() {
      // Tunnels first: the servers stop routing calls here before the port drains.
      await Promise.all(tunnels.map((t) => t.close()));
      await started.stop();
      await observe.close();
      protection.close();
    },
    reload: () => protection.reload(),
  };
}
