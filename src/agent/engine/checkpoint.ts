// What a backup reads from an agent: a consistent point and the files (or log records)
// that hold it. Full: the newest snapshot generation, saved just before if anything
// changed since, so it holds every write acknowledged before the save's log rotation.
// Incremental: the log segments from the previous backup's position up to a rotation
// made now, all sealed. Either way the files are held (not deleted by later saves)
// until the backup ends. An agent without --index-path writes a snapshot of its memory
// into a temporary directory instead (full backups only: it keeps no log).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { writeFileAtomic } from "./durable-file";
import { failedPrecondition } from "./errors";
import { encodeIdFile, type IdFileContents } from "./id-file";
import type { Persistence } from "./persistence";
import { fileChecksum, idName, indexName } from "./snapshot-files";
import type { EngineOptions } from "./types";
import type { WalRecord } from "./wal-record";
import { readSegment } from "./wal-segment";

export interface CheckpointFile {
  name: string;
  bytes: number;
  crc32: number;
}

export interface EngineCheckpoint {
  /** snapshot generation (full), else the agent's newest */
  generation: number;
  /** segments before it are in the backup (-1: the agent keeps no log) */
  walSeq: number;
  /** the first segment an incremental backup holds (= walSeq for a full one) */
  sinceWalSeq: number;
  /** where the files are */
  dir: string;
  /** full: the ids file, then the graph; incremental: none */
  files: CheckpointFile[];
  /** incremental: records in the held segments */
  logRecords: number;
  /** the log's history ("" without a log) */
  history: string;
  /** incremental: the records, oldest first, in batches */
  readLog(): AsyncGenerator<WalRecord[]>;
  /** keepLog: the backup was written, keep the log from walSeq on for the next incremental one */
  release(keepLog: boolean): Promise<void>;
}

const LOG_BATCH = 1024;

async function describeFiles(dir: string, generation: number): Promise<CheckpointFile[]> {
  const out: CheckpointFile[] = [];
  for (const name of [idName(generation), indexName(generation)]) out.push({ name, ...(await fileChecksum(join(dir, name))) });
  return out;
}

const noLog = async function* (): AsyncGenerator<WalRecord[]> {};

/** The newest generation of a persistent agent, held; the caller saved first if anything changed. */
export async function fullCheckpoint(p: Persistence): Promise<EngineCheckpoint> {
  const g = p.newest;
  const release = p.hold(g.generation, g.walSeq);
  try {
    return {
      history: await p.history(),
      generation: g.generation,
      walSeq: g.walSeq,
      sinceWalSeq: g.walSeq,
      dir: p.directory,
      files: await describeFiles(p.directory, g.generation),
      logRecords: 0,
      readLog: noLog,
      release: async (keepLog) => {
        release();
        if (keepLog) await p.keepLogFrom(g.walSeq);
      },
    };
  } catch (err) {
    release();
    throw err;
  }
}

/** The log since `since` on a persistent agent: closes the current segment and holds the ones in between. */
export async function incrementalCheckpoint(p: Persistence, options: EngineOptions, since: number, history: string): Promise<EngineCheckpoint> {
  const name = options.name;
  const mine = await p.history();
  if (history !== mine) {
    throw failedPrecondition(
      `agent ${name} does not hold the data the previous backup was taken from (a restore or a new --index-path replaced it since): take a full backup`,
    );
  }
  const to = await p.rotateLog();
  if (!Number.isSafeInteger(since) || since < 0 || since > to) {
    throw failedPrecondition(
      `the previous backup recorded log segment ${since} for agent ${name}, which is at ${to}: it is not a backup of this agent's current data; take a full backup`,
    );
  }
  const found = p.segmentsBetween(since, to);
  if ("missing" in found) {
    throw failedPrecondition(
      `the write-ahead log since the previous backup is gone on agent ${name} (${found.missing} was deleted: a newer backup moved its position, or the agent was restored since); take a full backup`,
    );
  }
  const release = p.hold(-1, since);
  const dimension = options.dimension;
  const read = (path: string) => {
    const c = readSegment(path, dimension);
    if (c.damage) throw new ConnectError(`${path} is damaged: ${c.damage}; take a full backup`, Code.DataLoss);
    return c.records;
  };
  let logRecords = 0;
  try {
    for (const s of found.segments) logRecords += read(s.path).length;
  } catch (err) {
    release();
    throw err;
  }
  return {
    generation: p.newest.generation,
    walSeq: to,
    sinceWalSeq: since,
    dir: p.directory,
    files: [],
    logRecords,
    history: mine,
    async *readLog() {
      for (const s of found.segments) {
        const records = read(s.path);
        for (let at = 0; at < records.length; at += LOG_BATCH) yield records.slice(at, at + LOG_BATCH);
      }
    },
    release: async (keepLog) => {
      release();
      if (keepLog) await p.keepLogFrom(to);
    },
  };
}

/** An in-memory agent's snapshot, written into a temporary directory that release() removes. */
export async function memoryCheckpoint(options: EngineOptions, captured: IdFileContents, saveGraph: (path: string) => Promise<void>): Promise<EngineCheckpoint> {
  const dir = mkdtempSync(join(tmpdir(), "alvd-checkpoint-"));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    const generation = 1;
    const graphPath = join(dir, indexName(generation));
    await saveGraph(graphPath);
    const graph = await fileChecksum(graphPath);
    const manifest = { generation, walSeq: 0, graphBytes: graph.bytes, graphCrc32: graph.crc32, dimension: options.dimension, metric: options.metric, quantization: options.quantization };
    await writeFileAtomic(join(dir, idName(generation)), encodeIdFile(captured, manifest));
    return { generation, walSeq: -1, sinceWalSeq: -1, history: "", dir, files: await describeFiles(dir, generation), logRecords: 0, readLog: noLog, release: async () => remove() };
  } catch (err) {
    remove();
    throw err;
  }
}
