// The agent's domain API: what a Vald agent does, with no gRPC in sight. Handlers
// (src/agent/handlers) translate wire messages to these calls; the gateway reaches
// them through the handlers. Failures are thrown as ConnectError with the Vald code
// (InvalidArgument, AlreadyExists, NotFound, Unavailable ...) so every transport
// reports them the same way.
import type { Metric, Quantization, SimdMode } from "../../index/types";
import type { EngineCheckpoint } from "./checkpoint";
import type { WalRecord } from "./wal-record";

export interface EngineOptions {
  /** agent name, reported in Object.Location.name */
  name: string;
  /** addresses reported in Object.Location.ips */
  ips: string[];
  dimension: number;
  metric: Metric;
  quantization: Quantization;
  connectivity: number;
  expansionAdd: number;
  expansionSearch: number;
  simd: SimdMode;
  /** directory for index, id map, timestamps and WAL; undefined = in-memory only */
  indexPath?: string;
  /** auto CreateIndex when this many vectors are uncommitted (0 = never by count) */
  createIndexThreshold: number;
  /** how often the agent checks whether to auto CreateIndex (ms, 0 = never) */
  checkIndexIntervalMs: number;
  /** how often to SaveIndex automatically when indexPath is set (ms, 0 = never) */
  saveIntervalMs: number;
  /** native threads used by CreateIndex (0 = all cores) */
  indexThreads: number;
  /** snapshot generations kept in indexPath, each with the WAL to replay it forward (default 2) */
  keepGenerations?: number;
  /** what to load when indexPath cannot be loaded without loss (default "none": refuse to start) */
  recover?: RecoverMode;
  /** test only: a crash point (see crash-points.ts), from ALVD_TEST_CRASH_AT */
  crashAt?: string;
}

/**
 * none: refuse to start; previous: the newest snapshot that verifies plus whatever of
 * the log still reads; empty: move everything aside and start empty.
 */
export type RecoverMode = "none" | "previous" | "empty";

/** Whether the agent takes writes: after a failed log write or save it refuses them until restarted. */
export interface WriteHealth {
  /** why writes are refused, or null while they are taken */
  failed: string | null;
  /** writes refused since the failure */
  refused: number;
}

export interface Hit {
  id: string;
  distance: number;
}

export interface SearchParams {
  num: number;
  /** drop hits farther than this; <= 0 or non-finite = unbounded */
  radius: number;
  /** HNSW ef for this query; 0 = the agent's default */
  expansion: number;
}

export interface StoredVector {
  id: string;
  vector: Float32Array;
  /** nanoseconds since the epoch */
  timestamp: bigint;
}

export interface IndexCounts {
  stored: number;
  uncommitted: number;
  indexing: boolean;
  saving: boolean;
}

export type TimestampOperator = "eq" | "ne" | "ge" | "gt" | "le" | "lt";

export interface Engine {
  readonly options: EngineOptions;
  /** AlreadyExists unless skipStrictExistCheck; InvalidArgument on bad vectors/ids. timestamp 0n = now. */
  insert(id: string, vector: Float32Array, timestamp: bigint, skipStrictExistCheck: boolean): Promise<void>;
  /** NotFound when absent; AlreadyExists when the vector is identical (unless skipStrictExistCheck). */
  update(id: string, vector: Float32Array, timestamp: bigint, skipStrictExistCheck: boolean): Promise<void>;
  /** insert when absent, update when present */
  upsert(id: string, vector: Float32Array, timestamp: bigint, skipStrictExistCheck: boolean): Promise<void>;
  /** room for a write's vector of `length` floats, to decode it into (staged by insert/update/upsert without a copy) */
  vectorRoom(length: number): Float32Array;
  /** NotFound when absent */
  remove(id: string): Promise<void>;
  /** removes every vector whose timestamp matches all conditions; returns the removed ids */
  removeByTimestamp(conditions: { timestamp: bigint; op: TimestampOperator }[]): Promise<string[]>;
  /** stores a replica's copy with its timestamp (> 0) unless one as new or newer is held; true when stored */
  putIfNewer(id: string, vector: Float32Array, timestamp: bigint): Promise<boolean>;
  /** removes id unless held with a newer timestamp; true when removed */
  removeIfNotNewer(id: string, timestamp: bigint): Promise<boolean>;
  /** only timestamp changes; NotFound when absent */
  updateTimestamp(id: string, timestamp: bigint, force: boolean): Promise<void>;
  /** approximate search over committed and uncommitted vectors; nearest first */
  search(query: Float32Array, params: SearchParams): Promise<Hit[]>;
  /** exact search (LinearSearch) */
  linearSearch(query: Float32Array, params: SearchParams): Promise<Hit[]>;
  /** NotFound when absent */
  get(id: string): StoredVector;
  exists(id: string): boolean;
  /** every stored vector, in no particular order */
  list(): Iterable<StoredVector>;
  /** every stored id with its timestamp, in no particular order; no vectors are read */
  timestamps(): Iterable<[string, bigint]>;
  counts(): IndexCounts;
  /** readable while closing, like counts() */
  writeHealth(): WriteHealth;
  /** build the graph for uncommitted vectors; poolSize is Vald's pool_size hint */
  createIndex(poolSize: number): Promise<void>;
  /** persist atomically (no-op without indexPath) */
  saveIndex(): Promise<void>;
  /** remove every vector */
  flush(): Promise<void>;
  /** a consistent point for a backup, held until released: full, or the log since sinceWalSeq */
  checkpoint(opts: { sinceWalSeq?: number; history?: string }): Promise<EngineCheckpoint>;
  /** the log segment kept for the next incremental backup, or null */
  keptLogFrom(): number | null;
  /** a temporary path for a file adopt() consumes */
  stagingPath(name: string): string;
  /** installs a snapshot (graph file, ids file bytes) into this empty agent */
  adopt(graphTemp: string, idsFile: Uint8Array): Promise<{ generation: number; stored: number }>;
  /** applies logged outcomes as they were (an incremental backup's records) */
  applyLog(records: WalRecord[]): Promise<void>;
  /** detail for IndexStatistics / IndexProperty */
  memoryUsage(): number;
  /** vectors the graph did not reach and were linked again (since start), and those every search now scans */
  graphRepairs(): { relinked: number; stranded: number };
  readonly isa: string;
  /** stop timers, finish in-flight work, save when indexPath is set */
  close(): Promise<void>;
}
