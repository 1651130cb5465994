// The client commands' flag table, a sibling of FLAGS: the same FlagSpec shape, parser
// (parseCommandLine), --help rendering and README table. Names follow valdcli where it
// has them (-h/--host, -p/--port, -n, -d, --with-ids, -j/--json), so `-h` is the host
// here and only `--help` asks for help.
import type * as z from "zod/mini";
import type { FlagSpec } from "./flags";
import * as v from "./values";

export const CLIENT_COMMANDS = {
  "rand-vecs": { args: "", about: "print random vectors as JSON lines (valdcli's rand-vecs)" },
  insert: { args: "ID [VECTOR]", about: "insert one vector (VECTOR as a JSON array, else one JSON line from stdin)" },
  upsert: { args: "ID [VECTOR]", about: "insert or replace one vector" },
  search: { args: "[VECTOR]", about: "search by a vector (JSON array, else from stdin) or by --id" },
  exists: { args: "ID", about: "check whether an id is stored (exit 1 when it is not)" },
  get: { args: "ID", about: "print a stored vector with its timestamp" },
  remove: { args: "ID...", about: "remove vectors by id" },
  "stream-insert": { args: "", about: 'insert JSON lines from stdin ({"id":…,"vector":[…]} each) over one stream' },
  "stream-upsert": { args: "", about: "upsert JSON lines from stdin over one stream" },
  "stream-search": { args: "", about: 'search JSON lines from stdin ([…] or {"vector":[…]} each); one JSON line of results per query' },
  index: { args: "info|detail|create|save", about: "index counts (whole cluster, per agent); build or save the index" },
  flush: { args: "", about: "remove every vector (asks first unless --yes)" },
  load: { args: "FILE", about: "bulk-load .fvecs .bvecs .ivecs .npy .jsonl .csv .tsv or IDX files (also .gz)" },
  export: { args: "", about: "write every vector with its id and timestamp to --out (alvd export format)" },
  import: { args: "FILE", about: "insert the vectors of an export file, keeping ids and timestamps" },
  backup: { args: "", about: "a consistent backup of every agent into --out (their snapshot files; with --since only the log since then)" },
  restore: { args: "FILE...", about: "bring a cluster back from a backup and the incrementals after it (into empty agents, else by import)" },
} as const;

export type ClientCommand = keyof typeof CLIENT_COMMANDS;

export function isClientCommand(name: string): name is ClientCommand {
  return Object.hasOwn(CLIENT_COMMANDS, name);
}

const unary = ["insert", "upsert", "search", "exists", "get", "remove"] as const;
const streams = ["stream-insert", "stream-upsert", "stream-search"] as const;
const bulk = [...streams, "load", "import", "restore"] as const;
const remote = [...unary, ...streams, "index", "flush", "load", "export", "import", "backup", "restore"] as const;
const progressing = [...bulk, "export", "backup"] as const;
const searching = ["search", "stream-search"] as const;

function flag<S extends z.ZodMiniType>(spec: FlagSpec<S, ClientCommand>): FlagSpec<S, ClientCommand> {
  return spec;
}

export const CLIENT_FLAGS = {
  // where and how to connect (env: ALVD_HOST, ALVD_API_KEY, …)
  host: flag({ help: "server (or agent) to call", default: "localhost", schema: v.host, commands: remote, short: "h" }),
  port: flag({ help: "its gRPC port", default: "8080", schema: v.port, commands: remote, short: "p" }),
  tls: flag({ help: "connect with TLS, verifying the server with the system store or --tls-ca-file", default: "false", schema: v.bool, commands: remote }),
  "tls-ca-file": flag({ help: "PEM CA bundle to verify the server with (implies --tls)", default: "", schema: v.text, commands: remote }),
  "tls-cert-file": flag({ help: "PEM client certificate for servers that require one (mTLS; implies --tls)", default: "", schema: v.text, commands: remote }),
  "tls-key-file": flag({ help: "PEM private key of --tls-cert-file", default: "", schema: v.text, commands: remote }),
  "tls-server-name": flag({ help: "name the server's certificate must carry (default: --host)", default: "", schema: v.text, commands: remote }),
  "api-key": flag({
    help: "client key, sent as authorization: Bearer (of a comma-separated list, the first)",
    default: "",
    schema: v.keyList,
    commands: remote,
    secret: true,
  }),
  timeout: flag({
    help: "deadline of each call (search: also Search.Config.timeout)",
    default: "30s",
    defaultFor: { index: "10m", flush: "10m" },
    schema: v.duration,
    commands: [...unary, "index", "flush"],
    short: "t",
    env: false,
  }),
  json: flag({ help: "print results as JSON", default: "false", schema: v.bool, commands: [...remote, "rand-vecs"], short: "j", env: false }),
  // rand-vecs
  dimension: flag({ help: "vector dimension", default: "784", schema: v.intRange(1, 65536), commands: ["rand-vecs"], short: "d", env: false }),
  number: flag({ help: "how many vectors", default: "10", schema: v.intRange(0, 1_000_000_000), commands: ["rand-vecs"], short: "n", env: false }),
  "with-ids": flag({ help: 'print {"id":…,"vector":[…]} with random UUIDs instead of bare vectors', default: "false", schema: v.bool, commands: ["rand-vecs"], env: false }),
  seed: flag({ help: "seed for repeatable output (0 = random)", default: "0", schema: v.intRange(0, 2 ** 32 - 1), commands: ["rand-vecs"], env: false }),
  // search
  num: flag({ help: "results per query", default: "10", schema: v.intRange(1, 1_000_000), commands: searching, short: "n", env: false }),
  radius: flag({ help: "largest distance to return (-1 = any)", default: "-1", schema: v.numberRange(-1, 3.4e38), commands: searching, short: "r", env: false }),
  epsilon: flag({ help: "search breadth: 0.1 searches with the server's --search-edge-size", default: "0.1", schema: v.numberRange(0, 1000), commands: searching, short: "e", env: false }),
  id: flag({ help: "search by the vector stored under this id (SearchByID)", default: "", schema: v.text, commands: ["search"], env: false }),
  // writes
  yes: flag({ help: "do not ask before removing everything", default: "false", schema: v.bool, commands: ["flush"], short: "y", env: false }),
  // bulk: stream-*, load, import, export
  window: flag({ help: "requests in flight on the stream", default: "128", schema: v.intRange(1, 65536), commands: bulk, env: false }),
  progress: flag({
    help: "progress on stderr: auto (a bar on a terminal, else log lines), bar, log or none",
    default: "auto",
    schema: v.oneOf({ auto: "auto", bar: "bar", log: "log", none: "none" } as const),
    commands: progressing,
    env: false,
  }),
  "progress-interval": flag({ help: "how often a progress log line is written (not on a terminal)", default: "10s", schema: v.duration, commands: progressing, env: false }),
  "max-errors": flag({ help: "stop after this many failed items (0 = never stop)", default: "100", schema: v.intRange(0, 1_000_000_000), commands: bulk, env: false }),
  // load
  format: flag({
    help: "file format (default: from the file name): fvecs, bvecs, ivecs, npy, jsonl, csv, tsv, idx",
    default: "auto",
    schema: v.oneOf({ auto: "auto", fvecs: "fvecs", bvecs: "bvecs", ivecs: "ivecs", npy: "npy", jsonl: "jsonl", json: "jsonl", ndjson: "jsonl", csv: "csv", tsv: "tsv", idx: "idx" } as const),
    commands: ["load"],
    env: false,
  }),
  ids: flag({ help: "file of ids, one a line, in row order (default: the row number)", default: "", schema: v.text, commands: ["load"], env: false }),
  "id-column": flag({ help: "CSV column (header name or 1-based number) or JSON field holding the id", default: "", schema: v.text, commands: ["load"], env: false }),
  "id-prefix": flag({ help: "put in front of every id", default: "", schema: v.text, commands: ["load"], env: false }),
  skip: flag({ help: "skip the first N rows (to resume a load; ids stay the same)", default: "0", schema: v.intRange(0, Number.MAX_SAFE_INTEGER), commands: ["load"], env: false }),
  limit: flag({ help: "load at most N rows (0 = all)", default: "0", schema: v.intRange(0, Number.MAX_SAFE_INTEGER), commands: ["load"], env: false }),
  upsert: flag({ help: "upsert instead of insert (replace ids that exist)", default: "false", schema: v.bool, commands: ["load"], env: false }),
  // export / import, backup / restore
  out: flag({
    help: "file to write (export: - = stdout; backup: a directory gets a file named by the time); written to FILE.partial and renamed when complete",
    default: "",
    schema: v.text,
    commands: ["export", "backup"],
    short: "o",
    env: false,
  }),
  "dry-run": flag({ help: "only read and verify the file(s), send nothing", default: "false", schema: v.bool, commands: ["import", "restore"], env: false }),
  since: flag({ help: "incremental: only what changed since this earlier backup (a file, or the newest backup in a directory)", default: "", schema: v.text, commands: ["backup"], env: false }),
  mode: flag({
    help: "restore by installing snapshot files into empty agents (files), by upserts through the Vald API (import), or files when possible (auto)",
    default: "auto",
    schema: v.oneOf({ auto: "auto", files: "files", import: "import" } as const),
    commands: ["restore"],
    env: false,
  }),
  force: flag({ help: "restore into a cluster that holds vectors: the backup's are upserted over those with the same ids", default: "false", schema: v.bool, commands: ["restore"], env: false }),
} satisfies Record<string, FlagSpec<z.ZodMiniType, ClientCommand>>;

export type ClientFlagName = keyof typeof CLIENT_FLAGS;
export type ClientValues = { [K in ClientFlagName]: z.output<(typeof CLIENT_FLAGS)[K]["schema"]> };
