// The id map + timestamps file of a snapshot: compact little-endian binary with a
// trailing crc32, so 60k+ entries load in milliseconds and a damaged file is refused
// rather than half-read. Uncommitted vectors travel in it too, so a save never has to
// wait for a graph build. It is also the generation's manifest: written after the
// graph file, it names that file's size and checksum, the first WAL segment the
// snapshot does not contain, and the vectors' shape, so a generation can be verified
// (and the directory understood) even without meta.json.
import type { Metric, Quantization } from "../../index/types";
import type { CommittedRecord, PendingRecord } from "./store";
import { crc32 } from "./wal-record";

const MAGIC = "ALVDIDS2";
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
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export interface IdFileContents {
  nextKey: number;
  committed: CommittedRecord[];
  pending: PendingRecord[];
}

export function encodeIdFile(contents: IdFileContents, manifest: SnapshotManifest): Uint8Array {
  const dimension = manifest.dimension;
  const ids = (list: CommittedRecord[]) => list.map((r) => encoder.encode(r.id));
  const committedIds = ids(contents.committed);
  const pendingIds = ids(contents.pending);
  let size = HEAD + 4;
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
  view.setFloat64(32, manifest.generation, true);
  view.setFloat64(40, manifest.walSeq, true);
  view.setFloat64(48, manifest.graphBytes, true);
  view.setUint32(56, manifest.graphCrc32, true);
  out[60] = METRICS.indexOf(manifest.metric);
  out[61] = QUANTIZATIONS.indexOf(manifest.quantization);
  let at = HEAD;
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

/** Thrown for a file that is not a whole, intact id map: the generation is damaged. */
export class DamagedFile extends Error {}

/** Decodes and verifies an id file; DamagedFile names what is wrong with it. */
export function decodeIdFile(bytes: Uint8Array): { contents: IdFileContents; manifest: SnapshotManifest } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (why: string) => new DamagedFile(why);
  if (bytes.length < HEAD + 4 || decoder.decode(bytes.subarray(0, 8)) !== MAGIC) throw bad("it is not an alvd id map");
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
  const nextKey = view.getFloat64(16, true);
  const committedCount = view.getUint32(24, true);
  const pendingCount = view.getUint32(28, true);
  let at = HEAD;
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
  if (at !== bytes.length - 4) throw bad("it has trailing bytes");
  return { contents: { nextKey, committed, pending }, manifest };
}
