// Everything the agent keeps in --index-path: snapshots (graph file + id map, named by
// generation, committed by meta.json) and the write-ahead log of what happened since.
//
// Save protocol: rotate the WAL to a new segment in the same tick the store is
// captured, write the graph and id map of the new generation, then meta.json naming
// that generation and the new segment. Only then are older generations and segments
// deleted. A crash at any point leaves meta.json naming a complete snapshot whose
// WAL segments are all still present.
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync } from "node:fs";
import { unlink } from "node:fs/promises";
import { join } from "node:path";
import type { AnnIndex } from "../../index/types";
import { lockDir } from "./dir-lock";
import { commitTemp, tempPathFor, writeFileAtomic } from "./durable-file";
import { decodeIdFile, encodeIdFile, type IdFileContents } from "./id-file";
import { checkMeta, FORMAT_VERSION, readMeta, writeMeta, type Meta } from "./meta";
import type { VectorStore } from "./store";
import type { EngineOptions } from "./types";
import { encodeRecord, type WalRecord } from "./wal-record";
import { listSegments, readSegment } from "./wal-segment";
import { WalWriter } from "./wal-writer";

const SNAPSHOT_FILE = /^(index|ids)-(\d+)\.(usearch|bin)$/;
const TEMP_FILE = /^\.(index-\d+\.usearch|ids-\d+\.bin|meta\.json)\..*\.tmp$/;

function indexFile(dir: string, generation: number): string {
  return join(dir, `index-${generation}.usearch`);
}

function idFile(dir: string, generation: number): string {
  return join(dir, `ids-${generation}.bin`);
}

export interface RecoveryReport {
  /** snapshot generation loaded (0 = none) */
  generation: number;
  replayedRecords: number;
  /** segments whose tail was torn (a crash mid-append) */
  tornSegments: number;
}

export class Persistence {
  /** mutations happened since the last durable snapshot */
  dirty: boolean;

  private constructor(
    private readonly dir: string,
    private readonly options: EngineOptions,
    private readonly index: AnnIndex,
    private meta: Meta,
    private readonly wal: WalWriter,
    private readonly lock: { release(): void },
    readonly recovery: RecoveryReport,
  ) {
    this.dirty = recovery.replayedRecords > 0;
  }

  /** Loads the snapshot into index and store, replays the WAL on top, opens a new segment. */
  static async open(options: EngineOptions, index: AnnIndex, store: VectorStore): Promise<Persistence> {
    const dir = options.indexPath!;
    mkdirSync(dir, { recursive: true });
    const lock = lockDir(dir);
    try {
      return await Persistence.load(dir, options, index, store, lock);
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  private static async load(
    dir: string,
    options: EngineOptions,
    index: AnnIndex,
    store: VectorStore,
    lock: { release(): void },
  ): Promise<Persistence> {
    const shape = { dimension: options.dimension, metric: options.metric, quantization: options.quantization };
    let meta = readMeta(dir);
    if (meta) {
      checkMeta(dir, meta, shape);
    } else {
      // claim the directory for these flags before anything else lands in it
      meta = { format: FORMAT_VERSION, ...shape, generation: 0, walSeq: 0 };
      await writeMeta(dir, meta);
    }
    if (meta.generation > 0) {
      index.load(indexFile(dir, meta.generation));
      const path = idFile(dir, meta.generation);
      const ids = decodeIdFile(new Uint8Array(readFileSync(path)), options.dimension, path);
      store.restore(ids.committed, ids.pending, ids.nextKey);
    }
    const recovery: RecoveryReport = { generation: meta.generation, replayedRecords: 0, tornSegments: 0 };
    let nextSeq = meta.walSeq;
    for (const segment of listSegments(dir)) {
      if (segment.seq < meta.walSeq) {
        unlinkSync(segment.path); // already inside the snapshot
        continue;
      }
      const contents = readSegment(segment.path, options.dimension);
      for (const record of contents.records) apply(store, record);
      recovery.replayedRecords += contents.records.length;
      if (contents.torn) recovery.tornSegments++;
      nextSeq = segment.seq + 1;
    }
    removeStrayFiles(dir, meta.generation);
    // never append to a replayed segment: its tail may be torn
    const wal = new WalWriter(dir, nextSeq, options.dimension);
    return new Persistence(dir, options, index, meta, wal, lock, recovery);
  }

  append(records: WalRecord[]): Promise<unknown> {
    this.dirty = true;
    if (records.length === 1) return this.wal.append(encodeRecord(records[0]!));
    return Promise.all(records.map((r) => this.wal.append(encodeRecord(r))));
  }

  /**
   * Writes a snapshot of `captured` (taken in the same tick as this call) and the
   * graph as it is now. The caller keeps the graph unchanged until graphSaved runs.
   */
  async save(captured: IdFileContents, graphSaved: () => void): Promise<void> {
    const generation = this.meta.generation + 1;
    const { seq, retired } = this.wal.rotate();
    this.dirty = false;
    const graphPath = indexFile(this.dir, generation);
    const graphTemp = tempPathFor(graphPath);
    try {
      try {
        await this.index.saveAsync(graphTemp);
      } finally {
        graphSaved();
      }
      await commitTemp(graphTemp, graphPath);
      await writeFileAtomic(idFile(this.dir, generation), encodeIdFile(captured, this.options.dimension));
      await retired;
      const meta: Meta = { ...this.meta, generation, walSeq: seq };
      await writeMeta(this.dir, meta);
      this.meta = meta;
    } catch (err) {
      this.dirty = true;
      await unlink(graphTemp).catch(() => {});
      throw err;
    }
    for (const segment of listSegments(this.dir)) {
      if (segment.seq < seq) await unlink(segment.path).catch(() => {});
    }
    removeStrayFiles(this.dir, generation);
  }

  async close(): Promise<void> {
    try {
      await this.wal.close();
    } finally {
      this.lock.release();
    }
  }
}

function apply(store: VectorStore, record: WalRecord): void {
  switch (record.kind) {
    case "put":
      store.put(record.id, record.vector, record.timestamp);
      return;
    case "remove":
      store.delete(record.id);
      return;
    case "timestamp":
      store.setTimestamp(record.id, record.timestamp);
      return;
    case "flush":
      store.clear();
      return;
  }
}

/** Deletes snapshot files of other generations and temp files of interrupted writes. */
function removeStrayFiles(dir: string, keep: number): void {
  for (const name of readdirSync(dir)) {
    const m = SNAPSHOT_FILE.exec(name);
    const stray = (m && Number(m[2]) !== keep) || TEMP_FILE.test(name);
    if (stray && existsSync(join(dir, name))) unlinkSync(join(dir, name));
  }
}
