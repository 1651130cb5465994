// Checks the gateway can make without knowing an agent's dimension; agents check the
// rest (dimension, metric-specific rules). Rejecting here avoids a fan-out that every
// agent would refuse anyway.
import type { Object_Vector, Search_Config } from "../gen/payload/v1/payload_pb";
import { invalidArgument } from "./errors";

const MIN_DIMENSION = 2;

export function checkId(rpc: string, id: string | undefined): string {
  if (id === undefined || id.length === 0) throw invalidArgument(rpc, "id must not be empty");
  return id;
}

export function checkVector(rpc: string, v: Object_Vector | undefined): Object_Vector {
  if (v === undefined) throw invalidArgument(rpc, "vector is required");
  checkId(rpc, v.id);
  checkFloats(rpc, v.vector, v.id);
  return v;
}

export function checkFloats(rpc: string, vector: readonly number[], requestId?: string): void {
  if (vector.length < MIN_DIMENSION) {
    throw invalidArgument(rpc, `vector has ${vector.length} dimensions, at least ${MIN_DIMENSION} are required`, requestId);
  }
}

export function checkSearchConfig(rpc: string, cfg: Search_Config | undefined): Search_Config {
  if (cfg === undefined || cfg.num < 1) throw invalidArgument(rpc, "config.num must be at least 1", cfg?.requestId);
  return cfg;
}
