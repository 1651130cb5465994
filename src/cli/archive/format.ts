// The alvd export file, version 1: every vector with its id and timestamp, bit for bit,
// written and read as a stream (one block in memory at a time). All integers are
// little-endian.
//
//   file    = header block* trailer
//   header  = "ALVDEXP\n" (8 bytes) | u32 version = 1 | u32 meta length M | M bytes of
//             UTF-8 JSON metadata ({"kind":"vectors", "created", "tool", "source"}) |
//             u32 CRC-32 of the header bytes before it
//   block   = u8 'B' | u32 records N (≥ 1) | u32 payload bytes L (≤ 64 MiB) | payload |
//             u32 CRC-32 of the block bytes before it
//   payload = N records: u32 id bytes I | I bytes of UTF-8 id | i64 timestamp (ns) |
//             u32 dimension D | D × f32 (the stored IEEE-754 bits)
//   trailer = u8 'E' | u64 records | u64 blocks | 32 bytes SHA-256 of every file byte
//             before the trailer | u32 CRC-32 of the trailer bytes before it
//
// A reader checks each block's CRC before it hands out any of its records, and at the
// end the counts and the SHA-256: a file cut short, reordered or spliced is refused
// (nothing after the trailer either). A reader refuses versions newer than its own.
// Other kinds of content reuse this framing (FramedWriter, readFramed): the metadata
// names the kind and other block tags carry other items; `alvd backup` writes snapshot
// files and log records so (backup-format.ts).
import { CliError } from "../errors";
import type { ByteReader } from "../load/bytes";

export const MAGIC = new TextEncoder().encode("ALVDEXP\n");
export const VERSION = 1;
const BLOCK = 0x42;
const END = 0x45;
export const TRAILER_BYTES = 1 + 8 + 8 + 32 + 4;
const MAX_PAYLOAD = 64 * 1024 * 1024;
/** a block is closed once its payload reaches this */
const TARGET_PAYLOAD = 1024 * 1024;

export interface ExportRecord {
  id: string;
  timestamp: bigint;
  vector: Float32Array;
}

export interface ExportMeta {
  kind: "vectors" | "backup";
  created: string;
  tool: string;
  source: string;
}

const crc32 = (b: Uint8Array) => Bun.hash.crc32(b) >>> 0;
const utf8 = new TextEncoder();

/**
 * The framing: header, blocks of any tag (u8 tag | u32 items | u32 payload bytes |
 * payload | u32 CRC-32), trailer. Returns each piece's bytes for the caller to write in
 * order, and hashes them all for the trailer.
 */
export class FramedWriter {
  private readonly sha = new Bun.CryptoHasher("sha256");
  items = 0;
  blocks = 0;
  bytes = 0;

  private emit(b: Uint8Array): Uint8Array {
    this.sha.update(b);
    this.bytes += b.length;
    return b;
  }

  header(meta: object): Uint8Array {
    const json = utf8.encode(JSON.stringify(meta));
    const b = new Uint8Array(8 + 4 + 4 + json.length + 4);
    const v = new DataView(b.buffer);
    b.set(MAGIC);
    v.setUint32(8, VERSION, true);
    v.setUint32(12, json.length, true);
    b.set(json, 16);
    v.setUint32(16 + json.length, crc32(b.subarray(0, 16 + json.length)), true);
    return this.emit(b);
  }

  /** one block of `items` items whose bytes are `parts` in order */
  block(tag: number, items: number, parts: Uint8Array[]): Uint8Array {
    let payload = 0;
    for (const p of parts) payload += p.length;
    if (payload > MAX_PAYLOAD) throw new RangeError(`a block of ${payload} bytes is over the ${MAX_PAYLOAD}-byte limit`);
    const b = new Uint8Array(9 + payload + 4);
    const v = new DataView(b.buffer);
    b[0] = tag;
    v.setUint32(1, items, true);
    v.setUint32(5, payload, true);
    let at = 9;
    for (const p of parts) {
      b.set(p, at);
      at += p.length;
    }
    v.setUint32(at, crc32(b.subarray(0, at)), true);
    this.items += items;
    this.blocks++;
    return this.emit(b);
  }

  trailer(): Uint8Array {
    const b = new Uint8Array(TRAILER_BYTES);
    const v = new DataView(b.buffer);
    b[0] = END;
    v.setBigUint64(1, BigInt(this.items), true);
    v.setBigUint64(9, BigInt(this.blocks), true);
    b.set(this.sha.digest() as Uint8Array, 17);
    v.setUint32(49, crc32(b.subarray(0, 49)), true);
    this.bytes += b.length;
    return b;
  }
}

/** Builds an export file's bytes; the caller writes each chunk it returns, in order. */
export class ExportEncoder {
  private readonly w = new FramedWriter();
  private parts: Uint8Array[] = [];
  private payload = 0;
  private inBlock = 0;
  records = 0;

  get blocks(): number {
    return this.w.blocks;
  }

  get bytes(): number {
    return this.w.bytes;
  }

  header(meta: ExportMeta): Uint8Array {
    return this.w.header(meta);
  }

  /** a finished block when this record filled one, else undefined */
  add(r: ExportRecord): Uint8Array | undefined {
    const id = utf8.encode(r.id);
    const rec = new Uint8Array(4 + id.length + 8 + 4 + 4 * r.vector.length);
    const v = new DataView(rec.buffer);
    v.setUint32(0, id.length, true);
    rec.set(id, 4);
    v.setBigInt64(4 + id.length, r.timestamp, true);
    v.setUint32(12 + id.length, r.vector.length, true);
    rec.set(new Uint8Array(r.vector.buffer, r.vector.byteOffset, r.vector.byteLength), 16 + id.length);
    this.parts.push(rec);
    this.payload += rec.length;
    this.inBlock++;
    this.records++;
    return this.payload >= TARGET_PAYLOAD ? this.flush() : undefined;
  }

  /** the open block, if it holds any record */
  flush(): Uint8Array | undefined {
    if (this.inBlock === 0) return undefined;
    const b = this.w.block(BLOCK, this.inBlock, this.parts);
    this.parts = [];
    this.payload = 0;
    this.inBlock = 0;
    return b;
  }

  /** the trailer; call flush() first */
  trailer(): Uint8Array {
    return this.w.trailer();
  }
}

/** The record count a trailer announces (for progress before the file is read), if it is one. */
export function trailerCount(tail: Uint8Array): number | undefined {
  if (tail.length !== TRAILER_BYTES || tail[0] !== END) return undefined;
  const v = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  if (v.getUint32(49, true) !== crc32(tail.subarray(0, 49))) return undefined;
  return Number(v.getBigUint64(1, true));
}

export interface Reading {
  meta: ExportMeta | undefined;
  records: number;
  blocks: number;
}

export interface FramedBlock {
  tag: number;
  /** items the block says it holds */
  count: number;
  /** the payload (a view into the block, valid until the next block is read) */
  payload: Uint8Array;
  /** 1-based, for messages */
  number: number;
}

/**
 * Blocks in file order, each yielded only once its CRC checked out; at the end the
 * trailer's counts (into.records = the items of every block) and the whole-file SHA-256
 * are checked, and nothing may follow. `tags` are the block tags this kind of file has;
 * `check(meta)` refuses a header of another kind. Throws a CliError naming the file.
 */
export async function* readFramed(
  r: ByteReader,
  name: string,
  into: Reading,
  kind: { noun: "export" | "backup"; tags: number[]; check(meta: ExportMeta): string | undefined },
): AsyncGenerator<FramedBlock> {
  const bad = (why: string) => new CliError(`${name}: ${why}`);
  const { noun, tags } = kind;
  const an = noun === "export" ? "an" : "a";
  const sha = new Bun.CryptoHasher("sha256");
  const head = await r.read(16).catch(() => undefined); // shorter than a header: not an export either
  if (head === undefined || !MAGIC.every((m, i) => head[i] === m)) throw bad(`not an alvd ${noun} file (no ALVDEXP magic)`);
  const hv = new DataView(head.buffer, head.byteOffset, 16);
  const version = hv.getUint32(8, true);
  if (version > VERSION) throw bad(`${noun} format version ${version} is newer than this alvd reads (${VERSION}): use a newer alvd`);
  const metaLen = hv.getUint32(12, true);
  if (metaLen > 1 << 20) throw bad("corrupt header (metadata length)");
  const rest = await r.need(metaLen + 4, "the end of the header");
  const headerBytes = Buffer.concat([head, rest.subarray(0, metaLen)]);
  if (new DataView(rest.buffer, rest.byteOffset + metaLen, 4).getUint32(0, true) !== crc32(headerBytes)) throw bad("header checksum mismatch");
  sha.update(headerBytes);
  sha.update(rest.subarray(metaLen));
  try {
    into.meta = JSON.parse(new TextDecoder().decode(rest.subarray(0, metaLen))) as ExportMeta;
  } catch {
    throw bad("corrupt header (metadata is not JSON)");
  }
  const refused = kind.check(into.meta);
  if (refused) throw bad(refused);
  for (;;) {
    const tag = await r.need(1, `the trailer (${an} ${noun} that did not finish?)`);
    if (tag[0] === END) break;
    if (!tags.includes(tag[0]!)) throw bad(`corrupt: unknown block tag 0x${tag[0]!.toString(16)} after ${into.records} records`);
    const bh = await r.need(8, "a block header");
    const bv = new DataView(bh.buffer, bh.byteOffset, 8);
    const count = bv.getUint32(0, true);
    const len = bv.getUint32(4, true);
    if (count === 0 || len > MAX_PAYLOAD) throw bad(`corrupt block ${into.blocks + 1} (count ${count}, ${len} bytes)`);
    const body = await r.need(len + 4, `the end of block ${into.blocks + 1}`);
    const block = Buffer.concat([tag, bh, body.subarray(0, len)]);
    if (new DataView(body.buffer, body.byteOffset + len, 4).getUint32(0, true) !== crc32(block)) {
      throw bad(`block ${into.blocks + 1} checksum mismatch (records ${into.records}–${into.records + count - 1})`);
    }
    sha.update(block);
    sha.update(body.subarray(len));
    into.blocks++;
    yield { tag: tag[0]!, count, payload: block.subarray(9), number: into.blocks };
    into.records += count;
  }
  const t = await r.need(TRAILER_BYTES - 1, "the end of the trailer");
  const tv = new DataView(t.buffer, t.byteOffset, t.byteLength);
  const trailer = Buffer.concat([new Uint8Array([END]), t]);
  if (tv.getUint32(48, true) !== crc32(trailer.subarray(0, 49))) throw bad("trailer checksum mismatch");
  if (Number(tv.getBigUint64(0, true)) !== into.records || Number(tv.getBigUint64(8, true)) !== into.blocks) {
    throw bad(`the trailer counts ${tv.getBigUint64(0, true)} records in ${tv.getBigUint64(8, true)} blocks, the file holds ${into.records} in ${into.blocks}`);
  }
  if (!Buffer.from(sha.digest() as Uint8Array).equals(t.subarray(16, 48))) throw bad("whole-file SHA-256 mismatch (blocks missing, reordered or altered)");
  if ((await r.read(1)) !== undefined) throw bad("bytes after the trailer");
}

/** Records in file order; throws (CliError) at the first thing that does not check out. */
export async function* readExport(r: ByteReader, name: string, into: Reading): AsyncGenerator<ExportRecord> {
  const bad = (why: string) => new CliError(`${name}: ${why}`);
  const text = new TextDecoder("utf-8", { fatal: true });
  const kindCheck = (m: ExportMeta) => (m.kind === "backup" ? "this is an alvd backup, not an export: bring it back with alvd restore" : undefined);
  for await (const b of readFramed(r, name, into, { noun: "export", tags: [BLOCK], check: kindCheck })) {
    const out: ExportRecord[] = [];
    const len = b.payload.length;
    const pv = new DataView(b.payload.buffer, b.payload.byteOffset, len);
    let at = 0;
    try {
      for (let i = 0; i < b.count; i++) {
        const idLen = pv.getUint32(at, true);
        const id = text.decode(b.payload.subarray(at + 4, at + 4 + idLen));
        at += 4 + idLen;
        const timestamp = pv.getBigInt64(at, true);
        const dim = pv.getUint32(at + 8, true);
        at += 12;
        if (at + 4 * dim > len) throw new RangeError("record past the block's end");
        // a copy: aligned for Float32Array, and not pinning the block
        out.push({ id, timestamp, vector: new Float32Array(new Uint8Array(b.payload.subarray(at, at + 4 * dim)).buffer) });
        at += 4 * dim;
      }
    } catch (e) {
      throw bad(`block ${b.number} does not parse (${(e as Error).message})`);
    }
    if (at !== len) throw bad(`block ${b.number} has bytes after its ${b.count} records`);
    yield* out;
  }
}
