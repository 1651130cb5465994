// The id map + timestamps file of a snapshot: compact little-endian binary with a
// trailing crc32, so 60k+ entries load in milliseconds and a damaged file is refused
// rather than half-read. Uncommitted vectors travel in it too, so a save never has to
// wait for a graph build.
import type { CommittedRecord, PendingRecord } from "./store";
import { crc32 } from "./wal-record";

const MAGIC = "ALVDIDS1";
const VERSION = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export interface IdFileContents {
  nextKey: number;
  committed: CommittedRecord[];
  pending: PendingRecord[];
}

export function encodeIdFile(contents: IdFileContents, dimension: number): Uint8Array {
  const ids = (list: CommittedRecord[]) => list.map((r) => encoder.encode(r.id));
  const committedIds = ids(contents.committed);
  const pendingIds = ids(contents.pending);
  let size = 8 + 4 + 4 + 8 + 4 + 4 + 4;
  for (const id of committedIds) size += 4 + id.length + 8 + 8;
  for (const id of pendingIds) size += 4 + id.length + 8 + 8 + dimension * 4;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(encoder.encode(MAGIC), 0);
  view.setUint32(8, VERSION, true);
  view.setUint32(12, dimension, true);
  view.setFloat64(16, contents.nextKey, true);
  view.setUint32(24, committedIds.length, true);
  view.setUint32(28, pendingIds.length, true);
  let at = 32;
  const writeHead = (id: Uint8Array, r: CommittedRecord) => {
    view.setUint32(at, id.length, true);
    out.set(id, at + 4);
    at += 4 + id.length;
    view.setFloat64(at, r.key, true);
    view.setBigInt64(at + 8, r.timestamp, true);
    at += 16;
  };
  contents.committed.forEach((r, i) => writeHead(committedIds[i]!, r));
  contents.pending.forEach((r, i) => {
    writeHead(pendingIds[i]!, r);
    out.set(new Uint8Array(r.vector.buffer, r.vector.byteOffset, r.vector.byteLength), at);
    at += dimension * 4;
  });
  view.setUint32(at, crc32(out.subarray(0, at)), true);
  return out;
}

export function decodeIdFile(bytes: Uint8Array, dimension: number, path: string): IdFileContents {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (why: string) => new Error(`${path}: ${why}`);
  if (bytes.length < 36 || decoder.decode(bytes.subarray(0, 8)) !== MAGIC) throw bad("not an alvd id map");
  if (view.getUint32(bytes.length - 4, true) !== crc32(bytes.subarray(0, bytes.length - 4))) throw bad("checksum mismatch");
  if (view.getUint32(8, true) !== VERSION) throw bad(`unsupported version ${view.getUint32(8, true)}`);
  if (view.getUint32(12, true) !== dimension) throw bad(`dimension ${view.getUint32(12, true)}, expected ${dimension}`);
  const nextKey = view.getFloat64(16, true);
  const committedCount = view.getUint32(24, true);
  const pendingCount = view.getUint32(28, true);
  let at = 32;
  const readHead = (): CommittedRecord => {
    const length = view.getUint32(at, true);
    const id = decoder.decode(bytes.subarray(at + 4, at + 4 + length));
    at += 4 + length;
    const key = view.getFloat64(at, true);
    const timestamp = view.getBigInt64(at + 8, true);
    at += 16;
    return { id, key, timestamp };
  };
  const committed: CommittedRecord[] = new Array(committedCount);
  for (let i = 0; i < committedCount; i++) committed[i] = readHead();
  const pending: PendingRecord[] = new Array(pendingCount);
  for (let i = 0; i < pendingCount; i++) {
    const head = readHead();
    const vector = new Float32Array(bytes.slice(at, at + dimension * 4).buffer);
    at += dimension * 4;
    pending[i] = { ...head, vector };
  }
  if (at !== bytes.length - 4) throw bad("trailing bytes");
  return { nextKey, committed, pending };
}
