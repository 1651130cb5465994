// Checks the gateway can make without knowing an agent's dimension; agents check the
// rest (dimension, metric-specific rules). Rejecting here avoids a fan-out that every
// agent would refuse anyway.
import type { Object_Vector, Search_Config } from "../gen/payload/v1/payload_pb";
import { overBytes, type RequestLimits } from "../config/limits";
import { floatsOf } from "../rpc/wire-floats";
import { invalidArgument } from "./errors";

const MIN_DIMENSION = 2;

export function checkId(rpc: string, id: string | undefined, limits: RequestLimits): string {
  if (id === undefined || id.length === 0) throw invalidArgument(rpc, "id must not be empty");
  const n = overBytes(id, limits.maxIdBytes);
  if (n !== undefined) throw invalidArgument(rpc, `id is ${n} bytes, longer than --max-id-length ${limits.maxIdBytes}`);
  return id;
}

export function checkVector(rpc: string, v: Object_Vector | undefined, limits: RequestLimits): Object_Vector {
  if (v === undefined) throw invalidArgument(rpc, "vector is required");
  checkId(rpc, v.id, limits);
  // the wire copy when nothing has read the number[] yet: .vector would build one
  checkFloats(rpc, floatsOf(v, "vector") ?? v.vector, v.id);
  return v;
}

/** A Multi* request over --max-batch is refused whole, before any item is applied. */
export function checkBatch(rpc: string, items: number, limits: RequestLimits): void {
  if (items > limits.maxBatch) {
    throw invalidArgument(rpc, `${items} requests in one call, more than --max-batch ${limits.maxBatch}; split it into smaller calls (nothing was applied)`);
  }
}

export function checkFloats(rpc: string, vector: ArrayLike<number>, requestId?: string): void {
  if (vector.length < MIN_DIMENSION) {
    throw invalidArgument(rpc, `vector has ${vector.length} dimensions, at least ${MIN_DIMENSION} are required`, requestId);
  }
}

export function checkSearchConfig(rpc: string, cfg: Search_Config | undefined, limits: RequestLimits): Search_Config {
  if (cfg === undefined || cfg.num < 1) throw invalidArgument(rpc, "config.num must be at least 1", cfg?.requestId);
  if (cfg.num > limits.maxSearchNum) {
    throw invalidArgument(rpc, `config.num ${cfg.num} is more than --max-search-num ${limits.maxSearchNum}`, cfg.requestId);
  }
  return cfg;
}
