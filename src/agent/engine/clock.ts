// Vald timestamps are Unix nanoseconds (int64).

/** now in ns; sub-millisecond digits come from the monotonic clock so close calls differ */
export function nowNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e3)) * 1000n;
}

/** Vald treats a missing (0) or negative timestamp as "now". */
export function stampOf(timestamp: bigint): bigint {
  return timestamp > 0n ? timestamp : nowNs();
}
