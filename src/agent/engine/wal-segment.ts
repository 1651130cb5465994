// WAL segment files: wal-<seq>.log, a 16-byte header (magic, dimension) then framed
// records. A save rotates to a new segment; segments older than the one a snapshot
// names are covered by it and get deleted.
import { closeSync, fdatasyncSync, openSync, readdirSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { failedPrecondition } from "./errors";
import { fsyncDirSync } from "./durable-file";
import { decodePayload, readFrames, type WalRecord } from "./wal-record";

const MAGIC = new TextEncoder().encode("ALVDWAL1");
const HEADER = 16;
const NAME = /^wal-(\d{12})\.log$/;

export function segmentPath(dir: string, seq: number): string {
  return join(dir, `wal-${String(seq).padStart(12, "0")}.log`);
}

export function listSegments(dir: string): { seq: number; path: string }[] {
  const found: { seq: number; path: string }[] = [];
  for (const name of readdirSync(dir)) {
    const m = NAME.exec(name);
    if (m) found.push({ seq: Number(m[1]), path: join(dir, name) });
  }
  return found.sort((a, b) => a.seq - b.seq);
}

/**
 * Creates a segment and makes its header and directory entry durable before any
 * record is acknowledged in it. Synchronous on purpose: a rotation must take effect
 * in the same tick as the snapshot it belongs to.
 */
export function createSegment(dir: string, seq: number, dimension: number): number {
  const fd = openSync(segmentPath(dir, seq), "wx");
  try {
    const header = new Uint8Array(HEADER);
    header.set(MAGIC, 0);
    new DataView(header.buffer).setUint32(8, dimension, true);
    writeSync(fd, header);
    fdatasyncSync(fd);
    fsyncDirSync(dir);
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

export interface SegmentContents {
  records: WalRecord[];
  /** bytes after the last complete record were ignored */
  torn: boolean;
}

export function readSegment(path: string, dimension: number): SegmentContents {
  const bytes = new Uint8Array(readFileSync(path));
  // a crash between creating the file and writing its header leaves it short
  if (bytes.length < HEADER) return { records: [], torn: bytes.length > 0 };
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw failedPrecondition(`${path} is not an alvd write-ahead log`);
  }
  const logged = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  if (logged !== dimension) {
    throw failedPrecondition(
      `${path} was written with --dimension=${logged} but this agent runs with --dimension=${dimension}; ` +
        `start with --dimension=${logged} or use another --index-path`,
    );
  }
  const records: WalRecord[] = [];
  const frames = readFrames(bytes.subarray(HEADER));
  for (;;) {
    const next = frames.next();
    if (next.done) return { records, torn: next.value.torn };
    records.push(decodePayload(next.value, dimension));
  }
}
