// WAL segment files: wal-<seq>.log, a 16-byte header (magic, dimension, header crc32)
// then framed records, and a seal frame once the segment is closed (on rotation and
// shutdown). A save rotates to a new segment; segments older than every kept snapshot
// are covered by them and get deleted.
import { closeSync, fdatasyncSync, openSync, readdirSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { failedPrecondition } from "./errors";
import { fsyncDirSync } from "./durable-file";
import { crc32, decodePayload, FRAME_HEADER, frameAt, nextFrame, sealCount, type WalRecord } from "./wal-record";

const MAGIC = new TextEncoder().encode("ALVDWAL2");
export const SEGMENT_HEADER = 16;
const NAME = /^wal-(\d{12})\.log$/;

export function segmentName(seq: number): string {
  return `wal-${String(seq).padStart(12, "0")}.log`;
}

export function segmentPath(dir: string, seq: number): string {
  return join(dir, segmentName(seq));
}

export function listSegments(dir: string): { seq: number; path: string }[] {
  const found: { seq: number; path: string }[] = [];
  for (const name of readdirSync(dir)) {
    const m = NAME.exec(name);
    if (m) found.push({ seq: Number(m[1]), path: join(dir, name) });
  }
  return found.sort((a, b) => a.seq - b.seq);
}

function header(dimension: number): Uint8Array {
  const bytes = new Uint8Array(SEGMENT_HEADER);
  bytes.set(MAGIC, 0);
  const view = new DataView(bytes.buffer);
  view.setUint32(8, dimension, true);
  view.setUint32(12, crc32(bytes.subarray(0, 12)), true);
  return bytes;
}

/**
 * Creates a segment and makes its header and directory entry durable before any
 * record is acknowledged in it. Synchronous on purpose: a rotation must take effect
 * in the same tick as the snapshot it belongs to.
 */
export function createSegment(dir: string, seq: number, dimension: number): number {
  const fd = openSync(segmentPath(dir, seq), "wx");
  try {
    writeSync(fd, header(dimension));
    fdatasyncSync(fd);
    fsyncDirSync(dir);
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

export interface SegmentContents {
  /** every record that reads (in lenient mode also those after damage) */
  records: WalRecord[];
  /** ends with a seal that counts every record: the segment was closed whole */
  sealed: boolean;
  /** file length */
  bytes: number;
  /** where the readable records end (bytes when nothing follows them) */
  end: number;
  /** shorter than a header: a crash while the file was being created (holds nothing) */
  headless: boolean;
  /** why the file cannot be trusted whole, or null; a torn tail alone is not damage */
  damage: string | null;
}

/**
 * Reads a segment. Strict mode stops at the first unreadable frame and reports damage
 * when valid records follow it (a torn tail from a crash has nothing valid after it);
 * lenient mode (for --recover) skips unreadable spans and keeps whatever still reads.
 */
export function readSegment(path: string, dimension: number, lenient = false): SegmentContents {
  const bytes = new Uint8Array(readFileSync(path));
  const out: SegmentContents = { records: [], sealed: false, bytes: bytes.length, end: SEGMENT_HEADER, headless: false, damage: null };
  if (bytes.length < SEGMENT_HEADER) return { ...out, end: bytes.length, headless: true };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!MAGIC.every((b, i) => bytes[i] === b) || view.getUint32(12, true) !== crc32(bytes.subarray(0, 12))) {
    return { ...out, end: 0, damage: "its header is not an alvd write-ahead log header" };
  }
  const logged = view.getUint32(8, true);
  if (logged !== dimension) {
    throw failedPrecondition(
      `${path} was written with --dimension=${logged} but this agent runs with --dimension=${dimension}; ` +
        `start with --dimension=${logged} or use another --index-path`,
    );
  }
  let at = SEGMENT_HEADER;
  while (at < bytes.length) {
    const payload = frameAt(bytes, at);
    const count = payload && sealCount(payload);
    if (payload && count !== undefined) {
      at += FRAME_HEADER + payload.length;
      out.end = at;
      if (count !== out.records.length) out.damage ??= `it was closed holding ${count} records but ${out.records.length} read`;
      else if (at < bytes.length) out.damage ??= `${bytes.length - at} bytes follow its closing record`;
      out.sealed = out.damage === null;
      break;
    }
    const record = payload && decoded(payload, dimension);
    if (record) {
      out.records.push(record);
      at += FRAME_HEADER + payload.length;
      out.end = at;
      continue;
    }
    const resume = nextFrame(bytes, at);
    if (resume < 0) break; // a torn tail: nothing readable follows
    out.damage ??= `the record at byte ${at} is corrupt and later records still read`;
    if (!lenient) break;
    at = resume;
  }
  return out;
}

function decoded(payload: Uint8Array, dimension: number): WalRecord | undefined {
  try {
    return decodePayload(payload, dimension);
  } catch {
    // a checksummed frame that is not a record of ours counts as unreadable
    return undefined;
  }
}
