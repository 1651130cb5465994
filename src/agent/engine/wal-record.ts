// Write-ahead log records. Each is framed as [u32 length][u32 crc32][payload] so a
// reader can tell a complete record from the torn tail a crash leaves behind.
// Records describe outcomes, not requests (a put is "id now has this vector"), which
// makes replay idempotent and free of the validation that accepted them.
export type WalRecord =
  | { kind: "put"; id: string; timestamp: bigint; vector: Float32Array }
  | { kind: "remove"; id: string }
  | { kind: "timestamp"; id: string; timestamp: bigint }
  | { kind: "flush" };

const KIND = { put: 1, remove: 2, timestamp: 3, flush: 4 } as const;
export const FRAME_HEADER = 8;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function crc32(bytes: Uint8Array): number {
  return Bun.hash.crc32(bytes) >>> 0;
}

export function encodeRecord(record: WalRecord): Uint8Array {
  const id = record.kind === "flush" ? new Uint8Array(0) : encoder.encode(record.id);
  let size = 1;
  if (record.kind !== "flush") size += 4 + id.length;
  if (record.kind === "put" || record.kind === "timestamp") size += 8;
  if (record.kind === "put") size += record.vector.byteLength;
  const frame = new Uint8Array(FRAME_HEADER + size);
  const view = new DataView(frame.buffer);
  let at = FRAME_HEADER;
  frame[at++] = KIND[record.kind];
  if (record.kind !== "flush") {
    view.setUint32(at, id.length, true);
    frame.set(id, at + 4);
    at += 4 + id.length;
  }
  if (record.kind === "put" || record.kind === "timestamp") {
    view.setBigInt64(at, record.timestamp, true);
    at += 8;
  }
  if (record.kind === "put") {
    const v = record.vector;
    frame.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), at);
  }
  view.setUint32(0, size, true);
  view.setUint32(4, crc32(frame.subarray(FRAME_HEADER)), true);
  return frame;
}

/** Decodes one verified payload; throws on a payload that cannot be a record. */
export function decodePayload(payload: Uint8Array, dimension: number): WalRecord {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const kind = payload[0];
  if (kind === KIND.flush) return { kind: "flush" };
  const idLength = view.getUint32(1, true);
  const id = decoder.decode(payload.subarray(5, 5 + idLength));
  let at = 5 + idLength;
  if (kind === KIND.remove) return { kind: "remove", id };
  const timestamp = view.getBigInt64(at, true);
  at += 8;
  if (kind === KIND.timestamp) return { kind: "timestamp", id, timestamp };
  if (kind === KIND.put) {
    if (payload.length - at !== dimension * 4) throw new Error(`put record holds ${(payload.length - at) / 4} floats, expected ${dimension}`);
    // slice: the payload is a view into a large read buffer that must not stay alive
    const vector = new Float32Array(payload.slice(at).buffer);
    return { kind: "put", id, timestamp, vector };
  }
  throw new Error(`unknown record kind ${kind}`);
}

/**
 * Yields the complete, checksummed records of a segment body and stops at the first
 * frame that is short or corrupt: that is where a crash tore the log.
 */
export function* readFrames(body: Uint8Array): Generator<Uint8Array, { torn: boolean; end: number }> {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let at = 0;
  while (at < body.length) {
    if (body.length - at < FRAME_HEADER) return { torn: true, end: at };
    const size = view.getUint32(at, true);
    const sum = view.getUint32(at + 4, true);
    if (size === 0 || body.length - at - FRAME_HEADER < size) return { torn: true, end: at };
    const payload = body.subarray(at + FRAME_HEADER, at + FRAME_HEADER + size);
    if (crc32(payload) !== sum) return { torn: true, end: at };
    yield payload;
    at += FRAME_HEADER + size;
  }
  return { torn: false, end: at };
}
