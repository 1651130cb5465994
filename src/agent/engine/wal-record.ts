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
/** the last record of a closed segment: how many records came before it */
const SEAL = 5;
export const FRAME_HEADER = 8;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** crc32 of bytes; pass the previous result as `seed` to continue over the next chunk */
export function crc32(bytes: Uint8Array, seed = 0): number {
  return Bun.hash.crc32(bytes, seed) >>> 0;
}

/** The bytes encodeRecordInto writes for `record`. */
export function recordBytes(record: WalRecord): number {
  let size = FRAME_HEADER + 1;
  if (record.kind !== "flush") size += 4 + Buffer.byteLength(record.id, "utf8");
  if (record.kind === "put" || record.kind === "timestamp") size += 8;
  if (record.kind === "put") size += record.vector.byteLength;
  return size;
}

/**
 * Writes the frame of `record` at `at`, which must have recordBytes(record) bytes of
 * room, and returns where it ends. The log writer packs a group's records straight
 * into its write buffer this way: a frame of its own per record, then a copy into the
 * group, was two vector-sized allocations per write for the collector to reclaim.
 */
export function encodeRecordInto(record: WalRecord, out: Uint8Array, at: number): number {
  const start = at;
  at += FRAME_HEADER;
  out[at++] = KIND[record.kind];
  if (record.kind !== "flush") {
    const { written } = encoder.encodeInto(record.id, out.subarray(at + 4));
    setU32(out, at, written);
    at += 4 + written;
  }
  if (record.kind === "put" || record.kind === "timestamp") {
    setU64(out, at, record.timestamp);
    at += 8;
  }
  if (record.kind === "put") {
    const v = record.vector;
    out.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), at);
    at += v.byteLength;
  }
  setU32(out, start, at - start - FRAME_HEADER);
  setU32(out, start + 4, crc32(out.subarray(start + FRAME_HEADER, at)));
  return at;
}

export function encodeRecord(record: WalRecord): Uint8Array {
  const frame = new Uint8Array(recordBytes(record));
  encodeRecordInto(record, frame, 0);
  return frame;
}

// little-endian by hand: a DataView over a reused buffer is one more object per record
function setU32(out: Uint8Array, at: number, v: number): void {
  out[at] = v & 0xff;
  out[at + 1] = (v >>> 8) & 0xff;
  out[at + 2] = (v >>> 16) & 0xff;
  out[at + 3] = (v >>> 24) & 0xff;
}

function setU64(out: Uint8Array, at: number, v: bigint): void {
  const u = BigInt.asUintN(64, v);
  setU32(out, at, Number(u & 0xffffffffn));
  setU32(out, at + 4, Number(u >> 32n));
}

/**
 * The frame that closes a segment. A segment that ends with it was complete when it
 * was closed, so anything missing from it later is damage, not a crash mid-write.
 */
export function encodeSeal(records: number): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER + 5);
  const view = new DataView(frame.buffer);
  frame[FRAME_HEADER] = SEAL;
  view.setUint32(FRAME_HEADER + 1, records, true);
  view.setUint32(0, 5, true);
  view.setUint32(4, crc32(frame.subarray(FRAME_HEADER)), true);
  return frame;
}

/** The record count of a seal frame's payload, or undefined when it is not a seal. */
export function sealCount(payload: Uint8Array): number | undefined {
  if (payload[0] !== SEAL || payload.length !== 5) return undefined;
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(1, true);
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

/** The checksummed payload of the frame at `at`, or undefined when none starts there. */
export function frameAt(body: Uint8Array, at: number): Uint8Array | undefined {
  if (body.length - at < FRAME_HEADER) return undefined;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const size = view.getUint32(at, true);
  if (size === 0 || body.length - at - FRAME_HEADER < size) return undefined;
  const payload = body.subarray(at + FRAME_HEADER, at + FRAME_HEADER + size);
  return crc32(payload) === view.getUint32(at + 4, true) ? payload : undefined;
}

/**
 * The offset of the next complete frame after `from`, or -1. Only damage recovery
 * calls this: after a crash nothing valid follows the torn spot, after a bit flip or
 * a zeroed block the later records are still there.
 */
export function nextFrame(body: Uint8Array, from: number): number {
  for (let at = from + 1; at + FRAME_HEADER < body.length; at++) {
    if (frameAt(body, at)) return at;
  }
  return -1;
}

/**
 * Yields the complete, checksummed records of a segment body and stops at the first
 * frame that is short or corrupt: that is where a crash tore the log.
 */
export function* readFrames(body: Uint8Array, from = 0): Generator<Uint8Array, { torn: boolean; end: number }> {
  let at = from;
  while (at < body.length) {
    const payload = frameAt(body, at);
    if (!payload) return { torn: true, end: at };
    yield payload;
    at += FRAME_HEADER + payload.length;
  }
  return { torn: false, end: at };
}
