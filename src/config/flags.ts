// The one flag table: parsing, --help, env variables and the README's flag table all
// read it, so they cannot drift apart. Names and defaults follow alvd so its command
// lines work unchanged.
import type * as z from "zod/mini";
import * as v from "./values";

export type Command = "server" | "agent" | "drain";

/** `C`: the commands of the table the flag is in (server/agent here; client commands in client-flags.ts). */
export interface FlagSpec<S extends z.ZodMiniType = z.ZodMiniType, C extends string = Command> {
  help: string;
  /** raw default, parsed by the same schema as user input */
  default: string;
  schema: S;
  /** commands that take this flag */
  commands: readonly C[];
  /** help text differs per command for flags whose meaning does (e.g. --server) */
  helpFor?: Partial<Record<C, string>>;
  defaultFor?: Partial<Record<C, string>>;
  /** may be given several times on the command line; the values are joined with "," */
  repeatable?: boolean;
  /** never echoed in error messages (API keys, tokens) */
  secret?: boolean;
  /** one-letter alias, e.g. "h" for -h/--host (client commands, after valdcli) */
  short?: string;
  /** false: no ALVD_* variable, for options a stray environment must not set (e.g. --yes) */
  env?: boolean;
}

/** A flag table: FLAGS for server and agent, CLIENT_FLAGS for the client commands. */
export type FlagTable<C extends string = string> = Record<string, FlagSpec<z.ZodMiniType, C>>;

const both = ["server", "agent"] as const;
const serverOnly = ["server"] as const;
const drainOnly = ["drain"] as const;
const agentOnly = ["agent"] as const;

function flag<S extends z.ZodMiniType>(spec: FlagSpec<S>): FlagSpec<S> {
  return spec;
}

/** Vald distance names → usearch metrics. */
const distanceNames = {
  l2: "l2sq",
  euclidean: "l2sq",
  cos: "cos",
  cosine: "cos",
  angle: "cos",
  ip: "ip",
  innerproduct: "ip",
  "inner-product": "ip",
  dot: "ip",
} as const;

/** Vald object types → how the index stores vectors. */
const objectTypeNames = {
  float: "f32",
  float32: "f32",
  f32: "f32",
  float16: "f16",
  f16: "f16",
  half: "f16",
  int8: "i8",
  i8: "i8",
  uint8: "i8",
} as const;

export const FLAGS = {
  // server (gateway) flags
  agent: flag({
    help: "run an embedded agent inside the server process",
    default: "true",
    schema: v.bool,
    commands: serverOnly,
  }),
  "server-grpc-host": flag({
    help: "address the Vald gateway (gRPC, gRPC-web, Connect) listens on",
    default: "0.0.0.0",
    schema: v.host,
    commands: serverOnly,
  }),
  "server-grpc-port": flag({
    help: "port of the Vald gateway",
    default: "8080",
    schema: v.port,
    commands: serverOnly,
  }),
  console: flag({
    help: "serve the web console at / and /console on the gateway port (its data calls need the same API keys)",
    default: "true",
    schema: v.bool,
    commands: serverOnly,
  }),
  replicas: flag({
    help: "agents each inserted vector is stored on (capped at the number of agents)",
    default: "3",
    schema: v.intRange(1, 1000),
    commands: serverOnly,
  }),
  "agent-lost-after": flag({
    help: "an agent disconnected this long is lost: its copies stop counting and are recreated on other agents",
    default: "1m",
    schema: v.positiveDuration,
    commands: serverOnly,
  }),
  "repair-rate": flag({
    help: "vectors per second the repair, rebalance and drain may copy (0 = unlimited)",
    default: "1000",
    schema: v.intRange(0, 1_000_000_000),
    commands: serverOnly,
  }),
  "repair-interval": flag({
    help: "full repair scan at least this often; agents joining or leaving start one at once (0 = only then)",
    default: "10m",
    schema: v.duration,
    commands: serverOnly,
  }),
  rebalance: flag({
    help: "move copies to new or emptier agents until every agent is within 10% of the mean",
    default: "true",
    schema: v.bool,
    commands: serverOnly,
  }),
  "replica-timeout": flag({
    help: "a replica silent this long is given up for the write: inserts go to another agent, the repair reconciles it (0 = wait for the deadline)",
    default: "1s",
    schema: v.duration,
    commands: serverOnly,
  }),
  "write-consistency": flag({
    help: "replicas that must have stored an insert before it is acknowledged; the others follow in the background (0 = all --replicas)",
    default: "0",
    schema: v.intRange(0, 1000),
    commands: serverOnly,
  }),
  ttl: flag({
    help: "vectors whose timestamp is older than this are removed from every agent, checked every --check-index-interval (0 = kept until removed)",
    default: "0",
    schema: v.duration,
    commands: serverOnly,
  }),
  "interceptor-timeout": flag({
    help: "longest a --config hook (interceptor or vectorizer) may take; a call it holds up longer fails with DEADLINE_EXCEEDED (0 = no limit)",
    default: "1s",
    schema: v.duration,
    commands: serverOnly,
  }),
  server: flag({
    help: "",
    helpFor: {
      server: "host:port the websocket endpoint for agents listens on (path /connect)",
      agent: "comma-separated server addresses (host:port) to dial; one tunnel per server; empty = standalone",
      drain: "host:port of the server's gateway port (gRPC)",
    },
    default: "0.0.0.0:8000",
    defaultFor: { drain: "127.0.0.1:8080" },
    schema: v.text,
    commands: [...both, "drain"],
  }),
  cancel: flag({
    help: "take a draining agent back into service instead of draining it",
    default: "false",
    schema: v.bool,
    commands: drainOnly,
  }),
  // agent flags (the server passes them to its embedded agent)
  name: flag({
    help: "agent name; generated and kept in --index-path when empty",
    default: "",
    schema: v.text,
    commands: both,
  }),
  dimension: flag({
    help: "vector dimension",
    default: "784",
    schema: v.intRange(2, 65536),
    commands: both,
  }),
  "distance-type": flag({
    help: "distance: l2, cosine, ip (innerproduct)",
    default: "l2",
    schema: v.oneOf(distanceNames),
    commands: both,
  }),
  "object-type": flag({
    help: "how vectors are stored: float, float16, int8",
    default: "float",
    schema: v.oneOf(objectTypeNames),
    commands: both,
  }),
  "creation-edge-size": flag({
    help: "HNSW connectivity (edges per node) used when building the index",
    default: "20",
    schema: v.intRange(2, 256),
    commands: both,
  }),
  "search-edge-size": flag({
    help: "HNSW expansion (ef) for searches; a request's epsilon scales it",
    default: "64",
    schema: v.intRange(1, 65536),
    commands: both,
  }),
  "index-path": flag({
    help: "directory for the index, its write-ahead log and the agent name; empty = in-memory only",
    default: "",
    schema: v.text,
    commands: both,
  }),
  "create-index-threshold": flag({
    help: "uncommitted vectors that trigger CreateIndex",
    default: "100",
    schema: v.intRange(0, 1_000_000_000),
    commands: both,
  }),
  "check-index-interval": flag({
    help: "how often to check whether an index build is due",
    default: "5s",
    schema: v.duration,
    commands: both,
  }),
  "save-interval": flag({
    help: "how often to save the index when --index-path is set (0 = only on shutdown)",
    default: "10m",
    schema: v.duration,
    commands: both,
  }),
  "keep-generations": flag({
    help: "snapshot generations kept in --index-path, each with the write-ahead log that brings it up to date",
    default: "2",
    schema: v.intRange(1, 100),
    commands: both,
  }),
  recover: flag({
    help: "when --index-path cannot be loaded without loss: none (refuse to start), previous (newest snapshot that verifies + what of the log still reads) or empty",
    default: "none",
    schema: v.oneOf({ none: "none", previous: "previous", empty: "empty" } as const),
    commands: both,
  }),
  "index-threads": flag({
    help: "threads used to build the index (0 = all cores)",
    default: "0",
    schema: v.intRange(0, 1024),
    commands: both,
  }),
  "grpc-host": flag({
    help: "address the agent's own gRPC port listens on",
    default: "0.0.0.0",
    schema: v.host,
    commands: both,
  }),
  "grpc-port": flag({
    help: "agent gRPC port (vald.v1.* and core.v1.Agent; gRPC-web and Connect too)",
    default: "8081",
    schema: v.port,
    commands: both,
  }),
  "metrics-host": flag({
    help: "address of /metrics, /healthz and /readyz",
    default: "0.0.0.0",
    schema: v.host,
    commands: both,
  }),
  "metrics-port": flag({
    help: "port of /metrics, /healthz and /readyz",
    default: "9090",
    schema: v.port,
    commands: both,
  }),
  token: flag({
    help: "join token agents must present to the server (empty = none)",
    default: "",
    schema: v.text,
    commands: both,
    secret: true,
  }),
  // client keys (Qdrant's model: read-write and read-only keys, Bearer or api-key header)
  "api-key": flag({
    help: "client key with read-write access (comma-separated, may be repeated); none anywhere = open",
    helpFor: { drain: "read-write client key the server asks for (sent as Bearer)" },
    default: "",
    schema: v.keyList,
    commands: [...both, "drain"],
    repeatable: true,
    secret: true,
  }),
  "read-only-api-key": flag({
    help: "client key that may only search, get objects and read index info (comma-separated, may be repeated)",
    default: "",
    schema: v.keyList,
    commands: both,
    repeatable: true,
    secret: true,
  }),
  "api-key-file": flag({
    help: "file of read-write client keys, one a line (# comments); re-read on SIGHUP",
    default: "",
    schema: v.text,
    commands: both,
  }),
  "read-only-api-key-file": flag({
    help: "file of read-only client keys, one a line (# comments); re-read on SIGHUP",
    default: "",
    schema: v.text,
    commands: both,
  }),
  "metrics-api-key": flag({
    help: "key /metrics asks for (Bearer or api-key header); /healthz and /readyz stay open; empty = open",
    default: "",
    schema: v.keyList,
    commands: both,
    secret: true,
  }),
  // TLS on every listener: gRPC port(s), tunnel, metrics
  "tls-cert-file": flag({
    help: "PEM certificate (chain): TLS on every port of this process; reloaded when the file changes",
    default: "",
    schema: v.text,
    commands: both,
  }),
  "tls-key-file": flag({
    help: "PEM private key of --tls-cert-file",
    default: "",
    schema: v.text,
    commands: both,
  }),
  "tls-client-ca-file": flag({
    help: "PEM CA bundle: require and verify client certificates (mTLS) on the gRPC and tunnel ports",
    default: "",
    schema: v.text,
    commands: both,
  }),
  "tls-ca-file": flag({
    help: "PEM CA bundle to verify the server's tunnel certificate with (default: the system store)",
    helpFor: { drain: "PEM CA bundle to verify the server's certificate with; implies --tls" },
    default: "",
    schema: v.text,
    commands: [...agentOnly, "drain"],
  }),
  tls: flag({
    help: "talk to the server over TLS (its gateway port has --tls-cert-file)",
    default: "false",
    schema: v.bool,
    commands: drainOnly,
  }),
  "tunnel-tls": flag({
    help: "dial servers with wss:// even where --server gives host:port",
    default: "false",
    schema: v.bool,
    commands: agentOnly,
  }),
  // request limits
  "max-message-size": flag({
    help: "largest request or response message (e.g. 64MiB); larger is RESOURCE_EXHAUSTED",
    default: "64MiB",
    schema: v.byteSize(1024, 2 ** 31 - 1),
    commands: both,
  }),
  "max-search-num": flag({
    help: "largest Search.Config.num; above is INVALID_ARGUMENT",
    default: "10000",
    schema: v.intRange(1, 1_000_000),
    commands: both,
  }),
  "max-batch": flag({
    help: "most items in one Multi* request; above is INVALID_ARGUMENT and nothing is applied",
    default: "10000",
    schema: v.intRange(1, 10_000_000),
    commands: both,
  }),
  "max-id-length": flag({
    help: "longest vector id in bytes (UTF-8)",
    default: "1024",
    schema: v.intRange(1, 1_048_576),
    commands: both,
  }),
  "max-concurrent-streams": flag({
    help: "HTTP/2 streams one client connection may have open at once",
    default: "1024",
    schema: v.intRange(1, 1_000_000),
    commands: both,
  }),
  "max-in-flight": flag({
    help: "calls one gRPC port serves at once; more are refused with RESOURCE_EXHAUSTED",
    default: "8192",
    schema: v.intRange(1, 10_000_000),
    commands: both,
  }),
  "max-agents": flag({
    help: "agents the server accepts over the tunnel at once",
    default: "1024",
    schema: v.intRange(1, 1_000_000),
    commands: serverOnly,
  }),
  simd: flag({
    help: "distance kernels: auto (fastest the CPU supports) or plain (portable)",
    default: "auto",
    schema: v.oneOf({ auto: "auto", plain: "plain" } as const),
    commands: both,
  }),
  "log-level": flag({
    help: "debug, info, warn or error",
    default: "info",
    schema: v.oneOf({ debug: "debug", info: "info", warn: "warn", warning: "warn", error: "error" } as const),
    commands: both,
  }),
  "log-format": flag({
    help: "text or json",
    default: "text",
    schema: v.oneOf({ text: "text", json: "json" } as const),
    commands: both,
  }),
  config: flag({
    help: "config file (.ts, .js, .mjs, .json, .yaml) with server and agent sections, keys named as flags in camelCase; flags and env override it",
    default: "",
    schema: v.text,
    commands: both,
  }),
} satisfies Record<string, FlagSpec>;

export type FlagName = keyof typeof FLAGS;
export type FlagValues = { [K in FlagName]: z.output<(typeof FLAGS)[K]["schema"]> };

export function envName(flagName: string): string {
  return `ALVD_${flagName.toUpperCase().replace(/-/g, "_")}`;
}

export function flagsFor(command: Command): FlagName[] {
  return (Object.keys(FLAGS) as FlagName[]).filter((n) => (FLAGS[n].commands as readonly Command[]).includes(command));
}

export function helpOf(name: FlagName, command: Command): string {
  const spec: FlagSpec = FLAGS[name];
  return spec.helpFor?.[command] ?? spec.help;
}

export function defaultOf(name: FlagName, command: Command): string {
  const spec: FlagSpec = FLAGS[name];
  return spec.defaultFor?.[command] ?? spec.default;
}
