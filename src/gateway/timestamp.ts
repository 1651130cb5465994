// Vald stamps a write at the gateway when the client did not, so every replica
// stores the same timestamp (RemoveByTimestamp then treats replicas alike).
export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

export function stamp(ts: bigint | undefined): bigint {
  return ts !== undefined && ts > 0n ? ts : nowNs();
}
