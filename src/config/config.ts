// Typed configuration for each command, built once at the process edge from the
// validated flag values. Nothing below main.ts reads argv or env.
import type { RecoverMode } from "../agent/engine/types";
import type { Metric, Quantization, SimdMode } from "../index/types";
import type { ServerHooks } from "./api";
import { type ConfigFile, hooksOf, sectionFlags, settingsOf } from "./file";
import { ConfigError, parseFlags } from "./parse";
import { addressList, address } from "./values";
import type { FlagValues } from "./flags";
import type { RequestLimits } from "./limits";

export interface Address {
  host: string;
  port: number;
}

export interface LogConfig {
  level: "debug" | "info" | "warn" | "error";
  format: "text" | "json";
}

export interface IndexConfig {
  dimension: number;
  metric: Metric;
  quantization: Quantization;
  connectivity: number;
  expansionSearch: number;
  simd: SimdMode;
  /** undefined = in-memory only */
  indexPath: string | undefined;
  createIndexThreshold: number;
  checkIndexIntervalMs: number;
  saveIntervalMs: number;
  indexThreads: number;
  keepGenerations: number;
  recover: RecoverMode;
  /** test only (ALVD_TEST_CRASH_AT, not a flag): a crash point of the engine */
  crashAt: string | undefined;
}

/** Where client keys come from; files are re-read on SIGHUP. */
export interface KeySources {
  readWrite: string[];
  readOnly: string[];
  readWriteFile: string | undefined;
  readOnlyFile: string | undefined;
}

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** set = clients must present a certificate this CA bundle verifies (mTLS) */
  clientCaFile: string | undefined;
}

export interface SecurityConfig {
  keys: KeySources;
  /** /metrics asks for one of these; empty = open */
  metricsKeys: string[];
  /** undefined = plain text on every port */
  tls: TlsFiles | undefined;
}

export interface LimitsConfig extends RequestLimits {
  maxMessageBytes: number;
  maxConcurrentStreams: number;
  maxInFlight: number;
}

export interface AgentConfig {
  /** empty = generated (and kept in indexPath when set) */
  name: string;
  /** servers to dial; empty = standalone */
  servers: Address[];
  token: string;
  grpc: Address;
  metrics: Address;
  index: IndexConfig;
  log: LogConfig;
  security: SecurityConfig;
  limits: LimitsConfig;
  /** how the agent dials servers over TLS */
  tunnelTls: { force: boolean; caFile: string | undefined };
}

/** self-healing: membership, repair, rebalance, hung replicas */
export interface HealConfig {
  agentLostAfterMs: number;
  /** vectors per second; 0 = unlimited */
  repairRate: number;
  repairIntervalMs: number;
  rebalance: boolean;
  /** 0 = off */
  replicaTimeoutMs: number;
  /** 0 = all replicas */
  writeConsistency: number;
}

export interface DrainConfig {
  agent: string;
  server: Address;
  cancel: boolean;
  /** read-write key to present; undefined = none */
  apiKey: string | undefined;
  /** undefined = plaintext */
  tls: { caFile: string | undefined } | undefined;
}

/** the --config file's hooks; SIGHUP loads them again from `file` */
export interface HooksConfig {
  hooks: ServerHooks;
  /** undefined = no config file */
  file: string | undefined;
  /** --interceptor-timeout; 0 = no limit */
  timeoutMs: number;
  /** the file's settings as loaded (settingsOf), so a reload can tell they changed */
  settings: string;
}

export interface ServerConfig {
  embeddedAgent: boolean;
  gateway: Address;
  /** serve the web console on the gateway port */
  console: boolean;
  tunnel: Address;
  replicas: number;
  heal: HealConfig;
  token: string;
  checkIndexIntervalMs: number;
  createIndexThreshold: number;
  saveIntervalMs: number;
  metrics: Address;
  log: LogConfig;
  security: SecurityConfig;
  limits: LimitsConfig;
  maxAgents: number;
  /** --ttl: vectors older than this are removed (0 = never) */
  ttlMs: number;
  hooks: HooksConfig;
  /** settings of the embedded agent (its grpc port is --grpc-port): the file's agent section over its server section */
  agent: AgentConfig;
}

function indexConfig(f: FlagValues, env: Record<string, string | undefined>): IndexConfig {
  if (f["object-type"] === "i8" && f["distance-type"] !== "cos") {
    // usearch's int8 storage scales each vector to unit length before rounding: only the
    // direction survives, so L2 and inner-product distances would be silently wrong.
    throw new ConfigError("--object-type int8 works only with --distance-type cosine (int8 keeps each vector's direction, not its length)");
  }
  return {
    dimension: f.dimension,
    metric: f["distance-type"],
    quantization: f["object-type"],
    connectivity: f["creation-edge-size"],
    expansionSearch: f["search-edge-size"],
    simd: f.simd,
    indexPath: f["index-path"] === "" ? undefined : f["index-path"],
    createIndexThreshold: f["create-index-threshold"],
    checkIndexIntervalMs: f["check-index-interval"],
    saveIntervalMs: f["save-interval"],
    indexThreads: f["index-threads"],
    keepGenerations: f["keep-generations"],
    recover: f.recover,
    crashAt: env.ALVD_TEST_CRASH_AT || undefined,
  };
}

const orUndefined = (s: string) => (s === "" ? undefined : s);

function securityConfig(f: FlagValues): SecurityConfig {
  const cert = f["tls-cert-file"];
  const key = f["tls-key-file"];
  if ((cert === "") !== (key === "")) {
    throw new ConfigError("--tls-cert-file and --tls-key-file go together: give both (PEM certificate and its private key) or neither");
  }
  if (cert === "" && f["tls-client-ca-file"] !== "") {
    throw new ConfigError("--tls-client-ca-file needs TLS: give --tls-cert-file and --tls-key-file too");
  }
  return {
    keys: {
      readWrite: f["api-key"],
      readOnly: f["read-only-api-key"],
      readWriteFile: orUndefined(f["api-key-file"]),
      readOnlyFile: orUndefined(f["read-only-api-key-file"]),
    },
    metricsKeys: f["metrics-api-key"],
    tls: cert === "" ? undefined : { certFile: cert, keyFile: key, clientCaFile: orUndefined(f["tls-client-ca-file"]) },
  };
}

function limitsConfig(f: FlagValues): LimitsConfig {
  return {
    maxMessageBytes: f["max-message-size"],
    maxSearchNum: f["max-search-num"],
    maxBatch: f["max-batch"],
    maxIdBytes: f["max-id-length"],
    maxConcurrentStreams: f["max-concurrent-streams"],
    maxInFlight: f["max-in-flight"],
  };
}

function parseWith<T>(flag: string, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { message: string }[] } } }, value: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new ConfigError(`--${flag}: ${r.error.issues[0]?.message ?? "invalid value"}`);
  return r.data;
}

function agentFrom(f: FlagValues, servers: Address[], env: Record<string, string | undefined>): AgentConfig {
  return {
    name: f.name,
    servers,
    token: f.token,
    grpc: { host: f["grpc-host"], port: f["grpc-port"] },
    metrics: { host: f["metrics-host"], port: f["metrics-port"] },
    index: indexConfig(f, env),
    log: { level: f["log-level"], format: f["log-format"] },
    security: securityConfig(f),
    limits: limitsConfig(f),
    tunnelTls: { force: "tunnel-tls" in f ? f["tunnel-tls"] : false, caFile: "tls-ca-file" in f ? orUndefined(f["tls-ca-file"]) : undefined },
  };
}

/** `file`: the loaded --config file (main.ts loads it; only its agent section applies) */
export function agentConfig(argv: string[], env: Record<string, string | undefined>, file?: ConfigFile): AgentConfig {
  const f = parseFlags("agent", argv, env, undefined, file ? [sectionFlags(file, "agent", "agent")] : []);
  return agentFrom(f, parseWith("server", addressList, f.server), env);
}

/** `file`: the loaded --config file; its server section, and for the embedded agent its agent section first */
export function serverConfig(argv: string[], env: Record<string, string | undefined>, file?: ConfigFile): ServerConfig {
  const own = file ? [sectionFlags(file, "server", "server")] : [];
  const f = parseFlags("server", argv, env, undefined, own);
  const embedded = file && Object.keys(file.sections.agent).length > 0 ? parseFlags("server", argv, env, undefined, [sectionFlags(file, "agent", "agent"), ...own]) : f;
  const cfg: ServerConfig = {
    embeddedAgent: f.agent,
    gateway: { host: f["server-grpc-host"], port: f["server-grpc-port"] },
    console: f.console,
    tunnel: parseWith("server", address, f.server),
    replicas: f.replicas,
    heal: {
      agentLostAfterMs: f["agent-lost-after"],
      repairRate: f["repair-rate"],
      repairIntervalMs: f["repair-interval"],
      rebalance: f.rebalance,
      replicaTimeoutMs: f["replica-timeout"],
      writeConsistency: f["write-consistency"],
    },
    token: f.token,
    checkIndexIntervalMs: f["check-index-interval"],
    createIndexThreshold: f["create-index-threshold"],
    saveIntervalMs: f["save-interval"],
    metrics: { host: f["metrics-host"], port: f["metrics-port"] },
    log: { level: f["log-level"], format: f["log-format"] },
    security: securityConfig(f),
    limits: limitsConfig(f),
    maxAgents: f["max-agents"],
    ttlMs: f.ttl,
    hooks: { hooks: hooksOf(file), file: file?.path, timeoutMs: f["interceptor-timeout"], settings: file ? settingsOf(file) : "" },
    agent: agentFrom(embedded, [], env),
  };
  if (cfg.ttlMs > 0 && cfg.checkIndexIntervalMs === 0) {
    throw new ConfigError("--ttl needs --check-index-interval above 0: that is how often expired vectors are looked for");
  }
  if (cfg.heal.writeConsistency > cfg.replicas) {
    throw new ConfigError(`--write-consistency ${cfg.heal.writeConsistency} is more than --replicas ${cfg.replicas}: an insert cannot wait for more copies than it makes`);
  }
  const k = cfg.security.keys;
  if (cfg.token === "" && (k.readWrite.length > 0 || k.readOnly.length > 0 || k.readWriteFile || k.readOnlyFile)) {
    // tunnel calls are trusted, so an open tunnel would let anyone in as an agent
    throw new ConfigError(
      `API keys are set but --token is not: any process reaching the tunnel port ${cfg.tunnel.port} could join as an agent and receive every vector; set --token (or ALVD_TOKEN)`,
    );
  }
  const clash = [cfg.gateway.port, cfg.tunnel.port, cfg.metrics.port];
  if (cfg.embeddedAgent) clash.push(cfg.agent.grpc.port);
  const seen = new Set<number>();
  for (const p of clash) {
    if (p !== 0 && seen.has(p)) {
      throw new ConfigError(
        `port ${p} is used twice: --server-grpc-port, --server, --metrics-port and --grpc-port (embedded agent) must differ`,
      );
    }
    seen.add(p);
  }
  return cfg;
}

/** `alvd drain NAME [--server host:port] [--cancel]` */
export function drainConfig(argv: string[], env: Record<string, string | undefined>): DrainConfig {
  const names: string[] = [];
  const f = parseFlags("drain", argv, env, names);
  if (names.length !== 1) {
    throw new ConfigError(`alvd drain takes one agent name (got ${names.length === 0 ? "none" : names.map((n) => JSON.stringify(n)).join(" ")}); usage: alvd drain NAME --server host:8080`);
  }
  const caFile = orUndefined(f["tls-ca-file"]);
  return {
    agent: names[0]!,
    server: parseWith("server", address, f.server),
    cancel: f.cancel,
    apiKey: f["api-key"][0],
    tls: f.tls || caFile !== undefined ? { caFile } : undefined,
  };
}
