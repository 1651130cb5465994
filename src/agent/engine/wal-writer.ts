// Appends WAL records with group commit: every record appended while a write+fsync is
// in flight joins the next one, so concurrent writers share a single fsync and an
// acknowledgement always means "on disk". After a failed write or fsync the writer
// refuses everything (fail stop): the file's tail is unknown, and on Linux a failed
// fsync may already have dropped the dirty pages it was asked to flush.
import { close as closeCb, fdatasync as fdatasyncCb, fdatasyncSync, ftruncateSync, write as writeCb } from "node:fs";
import { promisify } from "node:util";
import { encodeRecordInto, encodeSeal, recordBytes, type WalRecord } from "./wal-record";
import { createSegment, SEGMENT_HEADER } from "./wal-segment";

/**
 * The count of bytes one write(2) took. Not promisify(fs.write): that resolves to
 * { bytesWritten, buffer }, and a short write (a filling disk) must be seen as short.
 */
function writeFd(fd: number, buf: Uint8Array, offset: number, length: number): Promise<number> {
  return new Promise((resolve, reject) => writeCb(fd, buf, offset, length, null, (err, n) => (err ? reject(err) : resolve(n))));
}
const fdatasync = promisify(fdatasyncCb);
const closeFd = promisify(closeCb);

interface Segment {
  seq: number;
  fd: number;
  /** records appended to it, for its seal */
  records: number;
  /** bytes known to be on disk */
  durable: number;
}

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

interface Group {
  segment: Segment;
  /** the group's frames, packed: bytes [0, length) */
  bytes: Uint8Array;
  length: number;
  waiters: Waiter[];
  /** close the segment after this group's bytes are durable */
  close: boolean;
}

/**
 * A written group's buffer up to this size is kept for the next group while writes
 * keep coming: a steady stream of writes then packs into the same memory instead of a
 * new buffer each. Once the log is idle only a first-group-sized one is kept.
 */
const SPARE_MAX_BYTES = 4 << 20;
const FIRST_GROUP_BYTES = 64 << 10;

export class WalWriter {
  private groups: Group[] = [];
  private spare: Uint8Array | null = null;
  private draining = false;
  private failure: unknown = null;
  private current: Segment | null;

  constructor(
    private readonly dir: string,
    seq: number,
    private readonly dimension: number,
  ) {
    this.current = { seq, fd: createSegment(dir, seq, dimension), records: 0, durable: SEGMENT_HEADER };
  }

  get seq(): number {
    return this.current?.seq ?? -1;
  }

  /** the error that stopped the log, if one did */
  get failed(): unknown {
    return this.failure;
  }

  /** Resolves once the records are written and fsynced (all of them, in one group). */
  append(records: WalRecord[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (records.length === 0) return Promise.resolve();
    const segment = this.current;
    if (!segment) return Promise.reject(new Error("write-ahead log is closed"));
    let group = this.groups.at(-1);
    if (!group || group.segment !== segment || group.close) {
      group = this.newGroup(segment, false);
      this.groups.push(group);
    }
    let need = group.length;
    for (const r of records) need += recordBytes(r);
    reserve(group, need);
    for (const r of records) group.length = encodeRecordInto(r, group.bytes, group.length);
    segment.records += records.length;
    const done = new Promise<void>((resolve, reject) => group.waiters.push({ resolve, reject }));
    this.kick();
    return done;
  }

  /**
   * Starts a new segment for every later append. `retired` resolves when the old
   * segment's records are durable and its file is closed (it may then be deleted).
   */
  rotate(): { seq: number; retired: Promise<void> } {
    const old = this.current;
    if (!old) throw new Error("write-ahead log is closed");
    this.current = { seq: old.seq + 1, fd: createSegment(this.dir, old.seq + 1, this.dimension), records: 0, durable: SEGMENT_HEADER };
    return { seq: old.seq + 1, retired: this.retire(old) };
  }

  /** Flushes what was appended, seals and closes the current segment. */
  close(): Promise<void> {
    const old = this.current;
    if (!old) return Promise.resolve();
    this.current = null;
    if (this.failure) {
      // nothing more can be made durable; the file stays as the failure left it
      return closeFd(old.fd).catch(() => undefined);
    }
    return this.retire(old);
  }

  private retire(segment: Segment): Promise<void> {
    const seal = encodeSeal(segment.records);
    const group: Group = { segment, bytes: seal, length: seal.length, waiters: [], close: true };
    this.groups.push(group);
    const done = new Promise<void>((resolve, reject) => group.waiters.push({ resolve, reject }));
    this.kick();
    return done;
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = true;
    // a microtask, so appends made in the same synchronous run share the first fsync
    queueMicrotask(() => void this.drain());
  }

  private async drain(): Promise<void> {
    while (this.groups.length > 0) {
      const batch = this.groups;
      this.groups = [];
      for (const group of batch) {
        try {
          if (this.failure) throw this.failure;
          await writeAll(group.segment.fd, group.bytes, group.length);
          await fdatasync(group.segment.fd);
          group.segment.durable += group.length;
          if (group.close) await closeFd(group.segment.fd);
          for (const w of group.waiters) w.resolve();
        } catch (err) {
          if (!this.failure) cutBack(group.segment);
          this.failure ??= err;
          if (group.close) await closeFd(group.segment.fd).catch(() => undefined);
          for (const w of group.waiters) w.reject(err);
        }
        this.recycle(group);
      }
    }
    this.draining = false;
    // idle: a bulk load's multi-MiB buffer would otherwise stay in RSS until the next one
    if (this.spare !== null && this.spare.length > FIRST_GROUP_BYTES) this.spare = null;
  }

  private newGroup(segment: Segment, close: boolean): Group {
    const bytes = this.spare ?? new Uint8Array(FIRST_GROUP_BYTES);
    this.spare = null;
    return { segment, bytes, length: 0, waiters: [], close };
  }

  /** the written group's buffer serves the next group (a write in flight never shares one) */
  private recycle(group: Group): void {
    if (group.close || group.bytes.length > SPARE_MAX_BYTES) return;
    if (this.spare === null || this.spare.length < group.bytes.length) this.spare = group.bytes;
  }
}

/** Grows the group's buffer to hold `bytes` (doubling, so a large group is copied a few times, not per record). */
function reserve(group: Group, bytes: number): void {
  if (bytes <= group.bytes.length) return;
  let size = group.bytes.length;
  while (size < bytes) size *= 2;
  const grown = new Uint8Array(size);
  grown.set(group.bytes.subarray(0, group.length));
  group.bytes = grown;
}

/**
 * Best effort after a failed write: cut the segment back to what was acknowledged, so
 * the refused writes do not come back at the next start (a full disk allows this; a
 * dying one may not, and then replay may bring back a write whose client got an error).
 */
function cutBack(segment: Segment): void {
  try {
    ftruncateSync(segment.fd, segment.durable);
    fdatasyncSync(segment.fd);
  } catch {
    // the start-up reader still tells a torn tail from acknowledged records
  }
}

async function writeAll(fd: number, bytes: Uint8Array, length: number): Promise<void> {
  let at = 0;
  while (at < length) at += await writeFd(fd, bytes, at, length - at);
}
