// The id map + timestamps file of a snapshot: compact little-endian binary with a
// trailing crc32, so 60k+ entries load in milliseconds and a damaged file is refused
// rather than half-read. Uncommitted vectors travel in it too, so a save never has to
// wait for a graph build. It is also the generation's manifest: written after the
// graph file, it names that file's size and checksum, the first WAL segment the
// snapshot does not contain, and the vectors' shape, so a generation can be verified
// (and the directory understood) even without meta.json.
import { Buffer, isUtf8 } from "node:buffer";
import type { Metric, Quantization } from "../../index/types";
import type { CommittedRecord, PendingRecord } from "./store";
import { crc32 } from "./wal-record";

const MAGIC = "ALVDIDS2";
const MAGIC_BYTES = new TextEncoder().encode(MAGIC);
const VERSION = 2;
const HEAD = 64;
const METRICS: Metric[] = ["l2sq", "cos", "ip"];
const QUANTIZATIONS: Quantization[] = ["f32", "f16", "i8"];

export interface SnapshotManifest {
  generation: number;
  /** WAL segments with seq >= walSeq hold mutations newer than this snapshot */
  walSeq: number;
  graphBytes: number;
  graphCrc32: number;
  dimension: number;
  metric: Metric;
  quantization: Quantization;
}
const decoder = new TextDecoder("utf-8", { fatal: true });

export interface IdFileContents {
  nextKey: number;
  committed: CommittedRecord[];
  pending: PendingRecord[];
}

/**
 * A decoded id file, column by column: what the store keeps per slot, so a restore
 * adopts these arrays instead of building an object per id and copying it again.
 */
export interface IdColumns {
  nextKey: number;
  /** entries 0 .. committed-1 are in the graph; the rest are pending */
  committed: number;
  ids: string[];
  keys: Float64Array<ArrayBuffer>;
  timestamps: BigInt64Array<ArrayBuffer>;
  /** the pending entries' vectors, row-major, in entry order */
  vectors: Float32Array;
}

export function encodeIdFile(contents: IdFileContents, manifest: SnapshotManifest): Uint8Array {
  const dimension = manifest.dimension;
  // ids are measured and written in place: no encoded copy of each id is made
  let size = HEAD + 4;
  for (const r of contents.committed) size += 4 + Buffer.byteLength(r.id, "utf8") + 16;
  for (const r of contents.pending) size += 4 + Buffer.byteLength(r.id, "utf8") + 16 + dimension * 4;
  const out = Buffer.alloc(size);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  writeManifest(out, view, manifest);
  view.setFloat64(16, contents.nextKey, true);
  view.setUint32(24, contents.committed.length, true);
  view.setUint32(28, contents.pending.length, true);
  let at = HEAD;
  const writeHead = (r: CommittedRecord) => {
    const length = out.write(r.id, at + 4, "utf8");
    view.setUint32(at, length, true);
    at += 4 + length;
    view.setFloat64(at, r.key, true);
    view.setBigInt64(at + 8, r.timestamp, true);
    at += 16;
  };
  for (const r of contents.committed) writeHead(r);
  for (const r of contents.pending) {
    writeHead(r);
    out.set(new Uint8Array(r.vector.buffer, r.vector.byteOffset, r.vector.byteLength), at);
    at += dimension * 4;
  }
  view.setUint32(at, crc32(out.subarray(0, at)), true);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** The same id file naming another generation (a backup installed as this agent's newest). */
export function restampIdFile(bytes: Uint8Array, manifest: SnapshotManifest): Uint8Array {
  const old = verifyIdFile(bytes);
  if (old.dimension !== manifest.dimension || old.metric !== manifest.metric || old.quantization !== manifest.quantization) {
    throw new Error("restampIdFile: the manifest describes other vectors than the file holds");
  }
  const out = bytes.slice();
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  writeManifest(out, view, manifest);
  view.setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

function writeManifest(out: Uint8Array, view: DataView, manifest: SnapshotManifest): void {
  out.set(MAGIC_BYTES, 0);
  view.setUint32(8, VERSION, true);
  view.setUint32(12, manifest.dimension, true);
  view.setFloat64(32, manifest.generation, true);
  view.setFloat64(40, manifest.walSeq, true);
  view.setFloat64(48, manifest.graphBytes, true);
  view.setUint32(56, manifest.graphCrc32, true);
  out[60] = METRICS.indexOf(manifest.metric);
  out[61] = QUANTIZATIONS.indexOf(manifest.quantization);
}

/** Thrown for a file that is not a whole, intact id map: the generation is damaged. */
export class DamagedFile extends Error {}

/**
 * Verifies an id file whole (checksum, version, every entry's bounds and UTF-8) without
 * decoding it; DamagedFile names what is wrong with it. Recovery checks every kept
 * generation but decodes only the one it loads.
 */
export function verifyIdFile(bytes: Uint8Array): SnapshotManifest {
  const { manifest, view } = readHeader(bytes);
  const dimension = manifest.dimension;
  const committedCount = view.getUint32(24, true);
  const pendingCount = view.getUint32(28, true);
  const end = bytes.length - 4;
  let at = HEAD;
  for (let i = 0; i < committedCount + pendingCount; i++) {
    if (at + 4 > end) throw new DamagedFile("it ends inside an entry");
    const length = view.getUint32(at, true);
    const next = at + 4 + length + 16 + (i < committedCount ? 0 : dimension * 4);
    if (next > end) throw new DamagedFile("it ends inside an entry");
    if (!isUtf8(bytes.subarray(at + 4, at + 4 + length))) throw new DamagedFile("an id is not valid UTF-8");
    at = next;
  }
  if (at !== end) throw new DamagedFile("it has trailing bytes");
  return manifest;
}

/** Decodes and verifies an id file; DamagedFile names what is wrong with it. */
export function decodeIdFile(bytes: Uint8Array): { columns: IdColumns; manifest: SnapshotManifest } {
  const { manifest, view } = readHeader(bytes);
  const dimension = manifest.dimension;
  const nextKey = view.getFloat64(16, true);
  const committed = view.getUint32(24, true);
  const count = committed + view.getUint32(28, true);
  const end = bytes.length - 4;
  // sized by what the file can hold, so a damaged count cannot make huge arrays
  if (count * 20 > end - HEAD) throw new DamagedFile("it ends inside an entry");
  const ids: string[] = new Array(count);
  const keys = new Float64Array(count);
  const timestamps = new BigInt64Array(count);
  const vectors = new Float32Array((count - committed) * dimension);
  let at = HEAD;
  for (let i = 0; i < count; i++) {
    if (at + 4 > end) throw new DamagedFile("it ends inside an entry");
    const length = view.getUint32(at, true);
    const vectorBytes = i < committed ? 0 : dimension * 4;
    if (at + 4 + length + 16 + vectorBytes > end) throw new DamagedFile("it ends inside an entry");
    try {
      ids[i] = decoder.decode(bytes.subarray(at + 4, at + 4 + length));
    } catch {
      throw new DamagedFile("an id is not valid UTF-8");
    }
    at += 4 + length;
    keys[i] = view.getFloat64(at, true);
    timestamps[i] = view.getBigInt64(at + 8, true);
    at += 16;
    if (vectorBytes > 0) {
      new Uint8Array(vectors.buffer, (i - committed) * vectorBytes, vectorBytes).set(bytes.subarray(at, at + vectorBytes));
      at += vectorBytes;
    }
  }
  if (at !== end) throw new DamagedFile("it has trailing bytes");
  return { columns: { nextKey, committed, ids, keys, timestamps, vectors }, manifest };
}

function readHeader(bytes: Uint8Array): { manifest: SnapshotManifest; view: DataView } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (why: string) => new DamagedFile(why);
  if (bytes.length < HEAD + 4 || !MAGIC_BYTES.every((b, i) => bytes[i] === b)) throw bad("it is not an alvd id map");
  if (view.getUint32(bytes.length - 4, true) !== crc32(bytes.subarray(0, bytes.length - 4))) throw bad("its checksum does not match");
  if (view.getUint32(8, true) !== VERSION) throw bad(`it has unsupported version ${view.getUint32(8, true)}`);
  const dimension = view.getUint32(12, true);
  const metric = METRICS[bytes[60]!];
  const quantization = QUANTIZATIONS[bytes[61]!];
  if (!metric || !quantization) throw bad("it names an unknown metric or quantization");
  const manifest: SnapshotManifest = {
    generation: view.getFloat64(32, true),
    walSeq: view.getFloat64(40, true),
    graphBytes: view.getFloat64(48, true),
    graphCrc32: view.getUint32(56, true),
    dimension,
    metric,
    quantization,
  };
  return { manifest, view };
}
