// What one request may ask for (--max-id-length, --max-search-num, --max-batch). The
// gateway and every agent check the same limits, since an agent's port is reachable
// directly too.
import { FLAGS } from "./flags";

export interface RequestLimits {
  maxIdBytes: number;
  maxSearchNum: number;
  maxBatch: number;
}

/** The flags' defaults, for code built without flags (tests, benchmarks). */
export const DEFAULT_REQUEST_LIMITS: RequestLimits = {
  maxIdBytes: Number(FLAGS["max-id-length"].default),
  maxSearchNum: Number(FLAGS["max-search-num"].default),
  maxBatch: Number(FLAGS["max-batch"].default),
};

/** The UTF-8 length of `s` when it is over `max`, else undefined; only counted when it could be (a UTF-16 unit is at most 3 bytes). */
export function overBytes(s: string, max: number): number | undefined {
  if (s.length * 3 <= max) return undefined;
  const n = Buffer.byteLength(s);
  return n > max ? n : undefined;
}
