// Everything the agent keeps in --index-path: snapshots (graph file + id map, named by
// generation, committed by meta.json) and the write-ahead log of what happened since.
//
// Save protocol: rotate the WAL to a new segment in the same tick the store is
// captured, write the graph, then the id map (which records the graph's size and
// checksum), then meta.json listing the new generation first. Only then are
// generations beyond --keep-generations and the segments no kept generation needs
// deleted. A crash at any step leaves meta.json naming complete snapshots whose WAL
// segments are all still present; a failed step leaves the old generation in charge.
import { mkdirSync, unlinkSync } from "node:fs";
import { unlink } from "node:fs/promises";
import { join } from "node:path";
import type { AnnIndex } from "../../index/types";
import { crashPoints, type CrashPoint } from "./crash-points";
import { lockDir } from "./dir-lock";
import { commitTemp, tempPathFor, writeFileAtomic } from "./durable-file";
import { describeIo, failedPrecondition } from "./errors";
import { encodeIdFile, restampIdFile, type IdFileContents } from "./id-file";
import { dropLogPin, readLogPin, writeLogPin, type LogPin } from "./log-pin";
import { writeMeta, type KeptGeneration, type Meta } from "./meta";
import { recover, type RecoveryReport } from "./recovery";
import { fileChecksum, idName, indexName, moveAside, strayFiles } from "./snapshot-files";
import type { VectorStore } from "./store";
import type { EngineOptions } from "./types";
import type { WalRecord } from "./wal-record";
import { listSegments, segmentName } from "./wal-segment";
import { WalWriter } from "./wal-writer";

export type { RecoveryReport } from "./recovery";

function isErrno(err: unknown): boolean {
  return typeof (err as NodeJS.ErrnoException)?.code === "string" && typeof (err as NodeJS.ErrnoException).syscall === "string";
}

export class Persistence {
  /** mutations happened since the last durable snapshot */
  dirty: boolean;
  private nextGeneration: number;
  private asideAfterSave: string[];
  private readonly asideInto: string;
  /** what running backups read: a generation's files and the segments from fromSeq on */
  private readonly holds = new Set<{ generation: number; fromSeq: number }>();
  /** the log's history and the first segment the last backup did not contain (kept for the next incremental one) */
  private logPin: LogPin | null;

  private constructor(
    private readonly dir: string,
    private readonly options: EngineOptions,
    private readonly index: AnnIndex,
    private meta: Meta,
    private readonly wal: WalWriter,
    private readonly lock: { release(): void },
    readonly recovery: RecoveryReport,
    private readonly crash: (point: CrashPoint) => void,
    recovered: { nextGeneration: number; asideAfterSave: string[]; asideInto: string },
  ) {
    // a graph repaired on load is saved as such by the next periodic save
    this.dirty = recovery.replayedRecords > 0 || recovery.relinked > 0;
    this.nextGeneration = recovered.nextGeneration;
    this.asideAfterSave = recovered.asideAfterSave;
    this.asideInto = recovered.asideInto;
    this.logPin = readLogPin(dir);
  }

  get directory(): string {
    return this.dir;
  }

  /** the newest committed generation (0 = none yet) and the first segment it does not contain */
  get newest(): KeptGeneration {
    return this.meta.generations[0]!;
  }

  get keptLogFrom(): number | null {
    return this.logPin?.walSeq ?? null;
  }

  /** the name of this log's history, made (durably) on first use */
  async history(): Promise<string> {
    if (!this.logPin) {
      const pin = { history: crypto.randomUUID(), walSeq: null };
      await writeLogPin(this.dir, pin);
      this.logPin = pin;
    }
    return this.logPin.history;
  }

  /** a lenient recovery read records from files it must not trust again: save before serving */
  get mustSave(): boolean {
    return this.asideAfterSave.length > 0 || this.recovery.lossy;
  }

  /** Loads the newest loadable snapshot into index and store, replays the WAL on top, opens a new segment. */
  static async open(options: EngineOptions, index: AnnIndex, store: VectorStore): Promise<Persistence> {
    const dir = options.indexPath!;
    const crash = crashPoints(options.crashAt);
    let lock: { release(): void };
    try {
      mkdirSync(dir, { recursive: true });
      lock = lockDir(dir);
    } catch (err) {
      if (!isErrno(err)) throw err;
      throw failedPrecondition(`--index-path ${dir} cannot be used: ${describeIo(err)}; the agent keeps its write-ahead log there, so fix the directory or choose another`);
    }
    try {
      const shape = { dimension: options.dimension, metric: options.metric, quantization: options.quantization };
      const r = await recover(dir, shape, options.recover ?? "none", index, store, crash);
      // never append to a replayed segment: its tail may be torn
      const wal = new WalWriter(dir, r.nextSeq, options.dimension);
      return new Persistence(dir, options, index, r.meta, wal, lock, r.report, crash, r);
    } catch (err) {
      lock.release();
      if (!isErrno(err)) throw err;
      throw failedPrecondition(`--index-path ${dir} could not be opened: ${describeIo(err)}`);
    }
  }

  append(records: WalRecord[]): Promise<void> {
    this.dirty = true;
    return this.wal.append(records);
  }

  /**
   * Writes a snapshot of `captured` (taken in the same tick as this call) and the
   * graph as it is now. The caller keeps the graph unchanged until graphSaved runs.
   */
  async save(captured: IdFileContents, graphSaved: () => void): Promise<void> {
    const generation = this.nextGeneration;
    const { seq, retired } = this.wal.rotate();
    // rotating made the old segment's close a pending write: a failed save must not leave it unobserved
    retired.catch(() => undefined);
    this.dirty = false;
    this.crash("save:after-rotate");
    const graphPath = join(this.dir, indexName(generation));
    const idPath = join(this.dir, idName(generation));
    const graphTemp = tempPathFor(graphPath);
    try {
      try {
        await this.index.saveAsync(graphTemp);
      } finally {
        graphSaved();
      }
      const graph = await fileChecksum(graphTemp);
      await commitTemp(graphTemp, graphPath);
      this.crash("save:after-graph");
      const o = this.options;
      const manifest = { generation, walSeq: seq, graphBytes: graph.bytes, graphCrc32: graph.crc32, dimension: o.dimension, metric: o.metric, quantization: o.quantization };
      await writeFileAtomic(idPath, encodeIdFile(captured, manifest));
      this.crash("save:after-ids");
      await retired;
      const keep = Math.max(1, this.options.keepGenerations ?? 2);
      const meta: Meta = { ...this.meta, generations: [{ generation, walSeq: seq }, ...this.meta.generations].slice(0, keep) };
      await writeMeta(this.dir, meta);
      this.meta = meta;
      this.nextGeneration = generation + 1;
    } catch (err) {
      this.dirty = true;
      // not committed: these are no generation yet, and the old one stays in charge
      for (const p of [graphTemp, graphPath, idPath]) await unlink(p).catch(() => {});
      throw err;
    }
    this.crash("save:after-meta");
    if (this.asideAfterSave.length > 0) {
      moveAside(this.dir, this.asideAfterSave, this.asideInto);
      this.asideAfterSave = [];
    }
    this.drop();
    this.crash("save:after-drop");
  }

  // ---- backups ----------------------------------------------------------------

  /** Keeps a generation's files and the segments from fromSeq on until the returned release is called. */
  hold(generation: number, fromSeq: number): () => void {
    const h = { generation, fromSeq };
    this.holds.add(h);
    return () => void this.holds.delete(h);
  }

  /** Closes the current segment; resolves to the new one's seq once every record before it is sealed on disk. */
  async rotateLog(): Promise<number> {
    const { seq, retired } = this.wal.rotate();
    await retired;
    return seq;
  }

  /** The segments [from, to), or why not all of them are there. */
  segmentsBetween(from: number, to: number): { segments: { seq: number; path: string }[] } | { missing: string } {
    const found = listSegments(this.dir).filter((s) => s.seq >= from && s.seq < to);
    for (let seq = from, i = 0; seq < to; seq++, i++) {
      if (found[i]?.seq !== seq) return { missing: segmentName(seq) };
    }
    return { segments: found };
  }

  /** A backup holding every segment before seq was written: keep the log from seq on. */
  async keepLogFrom(seq: number): Promise<void> {
    const pin = { history: await this.history(), walSeq: seq };
    await writeLogPin(this.dir, pin);
    this.logPin = pin;
  }

  /**
   * Makes a restored snapshot (its graph written to graphTemp in this directory, and
   * its verified ids file) the newest generation, with a fresh log segment after it: the same steps
   * and commit point (meta.json) as a save. The caller loads it into memory after.
   */
  async adopt(graphTemp: string, idsFile: Uint8Array): Promise<{ generation: number; graphPath: string }> {
    const generation = this.nextGeneration;
    const { seq, retired } = this.wal.rotate();
    retired.catch(() => undefined);
    const graphPath = join(this.dir, indexName(generation));
    const idPath = join(this.dir, idName(generation));
    try {
      const graph = await fileChecksum(graphTemp);
      await commitTemp(graphTemp, graphPath);
      const o = this.options;
      const manifest = { generation, walSeq: seq, graphBytes: graph.bytes, graphCrc32: graph.crc32, dimension: o.dimension, metric: o.metric, quantization: o.quantization };
      await writeFileAtomic(idPath, restampIdFile(idsFile, manifest));
      await retired;
      // before the commit point: a crash after it must not leave the old history's positions
      dropLogPin(this.dir);
      this.logPin = null;
      const keep = Math.max(1, this.options.keepGenerations ?? 2);
      const meta: Meta = { ...this.meta, generations: [{ generation, walSeq: seq }, ...this.meta.generations].slice(0, keep) };
      await writeMeta(this.dir, meta);
      this.meta = meta;
      this.nextGeneration = generation + 1;
    } catch (err) {
      for (const p of [graphTemp, graphPath, idPath]) await unlink(p).catch(() => {});
      throw err;
    }
    this.dirty = false;
    this.drop();
    return { generation, graphPath };
  }

  /** Deletes generations no longer kept and the segments none of the kept ones (nor a backup) needs. */
  private drop(): void {
    const held = [...this.holds];
    const oldest = Math.min(...this.meta.generations.map((g) => g.walSeq), ...held.map((h) => h.fromSeq), this.logPin?.walSeq ?? Infinity);
    const kept = new Set([...this.meta.generations.map((g) => g.generation), ...held.map((h) => h.generation)]);
    const doomed = [
      ...listSegments(this.dir).filter((s) => s.seq < oldest).map((s) => s.path),
      ...strayFiles(this.dir, kept).map((name) => join(this.dir, name)),
    ];
    for (const path of doomed) {
      try {
        unlinkSync(path);
      } catch {
        // the save is committed; what stays behind is deleted by the next drop or start
      }
    }
  }

  async close(): Promise<void> {
    try {
      await this.wal.close();
    } finally {
      this.lock.release();
    }
  }
}
