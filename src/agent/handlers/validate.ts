// Request validation: Vald's buf.validate constraints plus the agent's own (dimension,
// finite floats), checked before anything touches the engine so bad input never
// half-applies. Every failure is InvalidArgument with a BadRequest field violation.
import { overBytes, type RequestLimits } from "../../config/limits";
import type { Search_Config } from "../../gen/payload/v1/payload_pb";
import type { SearchParams } from "../engine/types";
import { floatsOf } from "../../rpc/wire-floats";
import { invalidArgument } from "./errors";

/** HNSW expansion the native index accepts at most; a larger request is clamped, not refused. */
const MAX_EXPANSION = 1 << 20;

export function checkId(id: string | undefined, field: string, limits: RequestLimits): string {
  if (!id) throw invalidArgument(`${field} must not be empty`, [{ field, description: "id is required (min_len 1)" }], "INVALID_ID");
  const n = overBytes(id, limits.maxIdBytes);
  if (n !== undefined) {
    throw invalidArgument(`${field} is ${n} bytes, longer than --max-id-length ${limits.maxIdBytes}`, [{ field, description: `at most ${limits.maxIdBytes} bytes` }], "INVALID_ID");
  }
  return id;
}

/** A Multi* request over --max-batch is refused whole, before any item is looked at. */
export function checkBatch(items: number, limits: RequestLimits): void {
  if (items > limits.maxBatch) {
    throw invalidArgument(
      `${items} requests in one call, more than --max-batch ${limits.maxBatch}; split it into smaller calls (nothing was applied)`,
      [{ field: "requests", description: `at most ${limits.maxBatch} items` }],
      "TOO_MANY_REQUESTS",
    );
  }
}

/**
 * A message's `vector` → Float32Array after checking length, dimension and finiteness.
 * Takes the message, not the list: a vector decoded off the wire is already a fresh
 * Float32Array (rpc/wire-floats.ts), and reading `vector` would build its number[].
 */
export function checkVector(owner: { vector: number[] } | undefined, dimension: number, field: string): Float32Array {
  const wire = floatsOf(owner, "vector");
  const values: ArrayLike<number> | undefined = wire ?? owner?.vector;
  const n = values?.length ?? 0;
  if (n < 2) {
    throw invalidArgument(`${field} has ${n} floats, at least 2 are required`, [{ field, description: "min_items 2" }], "INVALID_VECTOR");
  }
  if (n !== dimension) {
    throw invalidArgument(
      `${field} has dimension ${n}, the agent's dimension is ${dimension}`,
      [{ field, description: `dimension must be ${dimension}` }],
      "INVALID_DIMENSION",
    );
  }
  const v = wire ?? Float32Array.from(values as number[]);
  for (let i = 0; i < n; i++) {
    // Checked after the f32 conversion: finite doubles beyond f32 range become Infinity.
    if (!Number.isFinite(v[i])) {
      throw invalidArgument(
        `${field}[${i}] is ${v[i]}: vectors must be finite`,
        [{ field: `${field}[${i}]`, description: "NaN and Infinity are not allowed" }],
        "INVALID_VECTOR",
      );
    }
  }
  return v;
}

/** Vald timestamps are nanoseconds since the epoch; 0 means "now". */
export function checkTimestamp(ts: bigint, field: string): bigint {
  if (ts < 0n) throw invalidArgument(`${field} is negative`, [{ field, description: "timestamp must be >= 0 (0 = now)" }], "INVALID_TIMESTAMP");
  return ts;
}

export interface SearchSettings {
  params: SearchParams;
  /** fewer results than this → NotFound */
  minNum: number;
  /** 0 = no per-request timeout (fractional: a 1 ns timeout is still a timeout) */
  timeoutMs: number;
  requestId: string;
}

/** NGT's default exploration coefficient; Vald clients usually send exactly this. */
const DEFAULT_EPSILON = 0.1;

/**
 * Search.Config → engine parameters.
 *
 * Vald's `epsilon` is NGT's exploration coefficient (search breadth grows with 1 + ε);
 * HNSW's equivalent knob is ef. We scale the agent's --search-edge-size so that the
 * customary ε = 0.1 gives exactly --search-edge-size:
 *
 *     ef = max(num, ceil(searchEdgeSize × (1 + ε) / 1.1))
 *
 * ε = 0 (unset) means the default 0.1, as in Vald's NGT agent. A positive
 * `edge_size` in the request sets ef directly (still at least num), which is the
 * precise knob for callers that know they talk to an HNSW agent. `radius` <= 0 is
 * unbounded (Vald sends -1).
 */
export function searchSettings(config: Search_Config | undefined, searchEdgeSize: number, limits: RequestLimits, field = "config"): SearchSettings {
  if (!config) {
    throw invalidArgument(`${field} is required`, [{ field, description: "Search.Config with num >= 1 is required" }], "INVALID_CONFIG");
  }
  if (config.num < 1) {
    throw invalidArgument(`${field}.num must be at least 1`, [{ field: `${field}.num`, description: "uint32.gte 1" }], "INVALID_CONFIG");
  }
  if (config.num > limits.maxSearchNum) {
    throw invalidArgument(
      `${field}.num ${config.num} is more than --max-search-num ${limits.maxSearchNum}`,
      [{ field: `${field}.num`, description: `at most ${limits.maxSearchNum}` }],
      "INVALID_CONFIG",
    );
  }
  if (config.timeout < 0n) {
    throw invalidArgument(`${field}.timeout is negative`, [{ field: `${field}.timeout`, description: "nanoseconds, >= 0" }], "INVALID_CONFIG");
  }
  if (!Number.isFinite(config.epsilon) || !Number.isFinite(config.radius)) {
    throw invalidArgument(
      `${field}.epsilon and ${field}.radius must be finite`,
      [{ field: `${field}.epsilon`, description: "finite float" }],
      "INVALID_CONFIG",
    );
  }
  const num = config.num;
  const epsilon = config.epsilon === 0 ? DEFAULT_EPSILON : config.epsilon;
  const scaled = Math.ceil((searchEdgeSize * Math.max(1 + epsilon, 0.01)) / (1 + DEFAULT_EPSILON));
  // a huge epsilon or edge_size asks for more breadth than the graph has: search it all
  const expansion = Math.min(MAX_EXPANSION, Math.max(num, config.edgeSize > 0 ? config.edgeSize : scaled));
  return {
    params: { num, radius: config.radius > 0 ? config.radius : 0, expansion },
    minNum: config.minNum,
    timeoutMs: Number(config.timeout) / 1e6,
    requestId: config.requestId,
  };
}
