// Start-up of --index-path: pick the newest generation that verifies and whose WAL
// chain (every segment from its walSeq on) reads whole, load it and replay the chain.
// A damaged newer generation is moved to broken/ and the next one loaded: nothing
// acknowledged is lost because the chain of the older one covers it. When no
// generation can be brought up to date without loss, start-up is refused with one
// line naming the file; --recover=previous then keeps whatever still reads, and
// --recover=empty starts over. Files are moved aside, never deleted.
import { closeSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { AnnIndex } from "../../index/types";
import { failedPrecondition } from "./errors";
import { DamagedFile, decodeIdFile, verifyIdFile, type SnapshotManifest } from "./id-file";
import { checkShape, FORMAT_VERSION, META_FILE, readMeta, writeMeta, type KeptGeneration, type Meta, type Shape } from "./meta";
import { brokenDir, generationsOnDisk, graphProblem, idName, indexName, moveAside, strayFiles } from "./snapshot-files";
import type { VectorStore } from "./store";
import type { RecoverMode } from "./types";
import { readLogPin } from "./log-pin";
import { encodeSeal, type WalRecord } from "./wal-record";
import { listSegments, readSegment, segmentName, type SegmentContents } from "./wal-segment";

export interface RecoveryReport {
  /** snapshot generation loaded (0 = none) */
  generation: number;
  replayedRecords: number;
  /** segments whose tail was torn (a crash mid-append) */
  tornSegments: number;
  /** what was wrong and what was done about it, one line each (empty when all was well) */
  problems: string[];
  /** where files were moved aside this start, or null */
  movedTo: string | null;
  /** --recover took effect: writes after the damage may be gone */
  lossy: boolean;
  /** vectors of the loaded graph that no search reached, linked again (GraphRepair) */
  relinked: number;
  /** and those still outside the graph's reach, scanned by every search */
  stranded: number;
}

export interface Recovered {
  meta: Meta;
  /** the segment a new WAL writer starts at */
  nextSeq: number;
  /** the generation number the next save writes */
  nextGeneration: number;
  report: RecoveryReport;
  /** files to move aside once a new snapshot holds what was read from them (lenient recovery) */
  asideAfterSave: string[];
  asideInto: string;
}

interface Chain {
  segments: { seq: number; name: string; path: string; contents: SegmentContents }[];
  damage: string | null;
}

interface Candidate extends KeptGeneration {
  /** the verified id file, decoded only for the generation that is loaded */
  ids?: { bytes: Uint8Array; manifest: SnapshotManifest };
  /** why this generation's own files cannot be used */
  damage: string | null;
}

/** Thrown when --index-path holds data that no choice of ours can load without loss. */
function refuse(dir: string, problem: string, more: number): Error {
  const also = more > 0 ? ` (and ${more} more problem${more > 1 ? "s" : ""})` : "";
  return failedPrecondition(
    `--index-path ${dir} cannot be loaded without losing acknowledged writes: ${problem}${also}; ` +
      `start once with --recover=previous to load the newest snapshot that verifies plus whatever of the write-ahead log still reads, ` +
      `or with --recover=empty to start empty; either moves the damaged files into ${join(dir, "broken")}/`,
  );
}

export async function recover(
  dir: string,
  shape: Shape,
  mode: RecoverMode,
  index: AnnIndex,
  store: VectorStore,
  crash: (point: "recovery:after-aside") => void,
): Promise<Recovered> {
  const report: RecoveryReport = { generation: 0, replayedRecords: 0, tornSegments: 0, problems: [], movedTo: null, lossy: false, relinked: 0, stranded: 0 };
  const aside = brokenDir(dir);
  const damagedFiles: string[] = [];
  const read = readMeta(dir);
  let meta: Meta | null = null;
  if (read.state === "ok") {
    checkShape(dir, read.meta, shape);
    meta = read.meta;
  } else if (read.state === "damaged") {
    report.problems.push(`${META_FILE} is damaged (${read.why}); rebuilt it from the files it describes`);
    damagedFiles.push(META_FILE);
  }
  const onDisk = generationsOnDisk(dir);
  const segments = listSegments(dir);
  const fresh = (): Meta => ({ format: FORMAT_VERSION, ...shape, generations: [{ generation: 0, walSeq: 0 }] });

  if (!meta && onDisk.length === 0 && segments.length === 0) {
    // a new directory (or one holding only a damaged meta.json and nothing it described)
    meta = fresh();
    report.movedTo = moveAsideReported(dir, damagedFiles, aside, report);
    await writeMeta(dir, meta);
    return { meta, nextSeq: 0, nextGeneration: 1, report, asideAfterSave: [], asideInto: aside };
  }
  if (!meta && read.state === "missing") report.problems.push(`${META_FILE} is missing; rebuilt it from the snapshot files`);

  const candidates: Candidate[] = meta
    ? meta.generations.map((g) => ({ ...g, damage: null }))
    : [...onDisk.map((generation) => ({ generation, walSeq: -1, damage: null })), { generation: 0, walSeq: 0, damage: null }];
  for (const c of candidates) await verifyGeneration(dir, shape, c);
  const nextGeneration = Math.max(0, ...onDisk, ...candidates.map((c) => c.generation)) + 1;

  // strict: the newest generation whose files and chain both read whole
  const problems: string[] = [];
  for (const [i, c] of candidates.entries()) {
    const chain = c.damage ? null : readChain(dir, c.walSeq, shape.dimension, false);
    if (!chain || chain.damage) {
      problems.push(c.damage ?? chain!.damage!);
      continue;
    }
    // a graph that verifies but does not load is this generation's own damage
    c.damage = c.generation > 0 ? loadGraph(dir, index, c, report) : null;
    if (c.damage) {
      problems.push(c.damage);
      continue;
    }
    if (c.ids) store.restore(decodeIdFile(c.ids.bytes).columns);
    replay(store, chain, report);
    report.generation = c.generation;
    if (mode !== "none") report.problems.push(`--recover=${mode} was not needed: generation ${c.generation} and its log loaded without loss`);
    // Newer generations that failed hold nothing this one's chain does not: move them
    // aside, and older ones that are damaged too (they could never be fallen back on).
    for (const d of candidates) {
      if (d === c || !d.damage || d.generation === 0) continue;
      const newer = d.generation > c.generation;
      report.problems.push(
        newer
          ? `generation ${d.generation} is damaged (${d.damage}); loaded generation ${c.generation} and replayed the log instead: nothing acknowledged is lost`
          : `older generation ${d.generation} is damaged too (${d.damage}); moved aside`,
      );
      damagedFiles.push(indexName(d.generation), idName(d.generation));
    }
    report.movedTo = moveAsideReported(dir, damagedFiles, aside, report);
    if (report.movedTo) crash("recovery:after-aside");
    const keptGenerations = candidates.filter((k) => k === c || (k.generation < c.generation && !k.damage));
    const kept: Meta = { format: FORMAT_VERSION, ...shape, generations: keptGenerations.map((k) => ({ generation: k.generation, walSeq: k.walSeq })) };
    if (!meta || keptGenerations.length !== meta.generations.length) await writeMeta(dir, kept);
    const nextSeq = closeChain(dir, chain, aside, report);
    tidy(dir, kept);
    return { meta: kept, nextSeq: Math.max(nextSeq, c.walSeq), nextGeneration, report, asideAfterSave: [], asideInto: aside };
  }

  if (mode === "empty") return startEmpty(dir, shape, report, aside, nextGeneration);
  if (mode === "previous") return lenient(dir, shape, index, store, candidates, report, aside, nextGeneration, damagedFiles);
  throw refuse(dir, problems[0] ?? "no snapshot or log reads", problems.length - 1);
}

/** Fills c.ids and c.damage from the generation's own files (not its chain). */
async function verifyGeneration(dir: string, shape: Shape, c: Candidate): Promise<void> {
  if (c.generation === 0) return;
  const ids = idName(c.generation);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(join(dir, ids)));
  } catch {
    c.damage = `${ids} is missing`;
    return;
  }
  try {
    c.ids = { bytes, manifest: verifyIdFile(bytes) };
  } catch (err) {
    if (!(err instanceof DamagedFile)) throw err;
    c.damage = `${ids} is damaged: ${err.message}`;
    return;
  }
  const m = c.ids.manifest;
  checkShape(dir, m, shape);
  if (m.generation !== c.generation || (c.walSeq >= 0 && m.walSeq !== c.walSeq)) {
    c.damage = `${ids} describes generation ${m.generation} (log from ${m.walSeq}), not ${c.generation} (log from ${c.walSeq})`;
    return;
  }
  c.walSeq = m.walSeq;
  const graph = await graphProblem(join(dir, indexName(c.generation)), m);
  if (graph) c.damage = `${indexName(c.generation)} is damaged: ${graph}`;
}

function loadGraph(dir: string, index: AnnIndex, c: Candidate, report: RecoveryReport): string | null {
  try {
    ({ relinked: report.relinked, stranded: report.stranded } = index.load(join(dir, indexName(c.generation))));
    return null;
  } catch (err) {
    index.clear();
    return `${indexName(c.generation)} does not load: ${(err as Error).message}`;
  }
}

/**
 * Reads the segments from walSeq on. Strict: they must be contiguous and whole, and
 * only the segments that were being written at a crash (those followed by nothing but
 * empty segments) may lack their seal or end in a torn write.
 */
function readChain(dir: string, walSeq: number, dimension: number, lenient: boolean): Chain {
  const found = listSegments(dir).filter((s) => s.seq >= walSeq);
  const chain: Chain = { segments: [], damage: null };
  const damage = (why: string) => (chain.damage ??= why);
  if (!lenient && found.length > 0 && found[0]!.seq !== walSeq) damage(`${segmentName(walSeq)} is missing`);
  for (const [i, s] of found.entries()) {
    if (!lenient && i > 0 && s.seq !== found[i - 1]!.seq + 1) damage(`${segmentName(found[i - 1]!.seq + 1)} is missing`);
    const contents = readSegment(s.path, dimension, lenient);
    if (contents.damage) damage(`${segmentName(s.seq)} is damaged: ${contents.damage}`);
    chain.segments.push({ seq: s.seq, name: segmentName(s.seq), path: s.path, contents });
  }
  if (!lenient) {
    // an unsealed (or headless) segment is a crash's; any later segment must then be empty
    let laterHoldRecords = false;
    for (const s of [...chain.segments].reverse()) {
      const open = !s.contents.sealed;
      if (open && laterHoldRecords) damage(`${s.name} was never closed but later segments hold records (it lost its end)`);
      if (s.contents.records.length > 0 || s.contents.sealed) laterHoldRecords = true;
    }
  }
  return chain;
}

function replay(store: VectorStore, chain: Chain, report: RecoveryReport): void {
  for (const s of chain.segments) {
    // Each record is let go once applied (the length stays: the seal counts it), so the
    // arena's periodic collection reclaims a long log while it is copied into the store
    // instead of holding it whole next to its copy.
    const records: (WalRecord | null)[] = s.contents.records;
    for (let i = 0; i < records.length; i++) {
      store.apply(records[i]!);
      records[i] = null;
    }
    report.replayedRecords += records.length;
    if (s.contents.end < s.contents.bytes && !s.contents.damage) report.tornSegments++;
  }
}

/**
 * Seals the segments a crash left open, so only the newest segment can ever be
 * unsealed: a torn tail is cut off (and kept in broken/), a headless file removed.
 * Returns the seq the next segment gets.
 */
function closeChain(dir: string, chain: Chain, aside: string, report: RecoveryReport): number {
  let next = 0;
  for (const s of chain.segments) {
    next = s.seq + 1;
    const c = s.contents;
    if (c.sealed) continue;
    if (c.headless) {
      unlinkSync(s.path); // created but never given a header: it holds nothing
      continue;
    }
    if (c.end < c.bytes) {
      const tail = readFileSync(s.path).subarray(c.end);
      mkdirSync(aside, { recursive: true });
      const kept = join(aside, `${s.name}.torn-at-${c.end}`);
      const fd = openSync(kept, "w");
      try {
        writeSync(fd, tail);
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
      report.movedTo ??= aside;
      report.problems.push(`${s.name} ended in a torn write (${tail.length} bytes from a crash mid-append, never acknowledged); cut off and kept as ${kept}`);
    }
    const fd = openSync(s.path, "r+");
    try {
      ftruncateSync(fd, c.end);
      const seal = encodeSeal(c.records.length);
      writeSync(fd, seal, 0, seal.length, c.end);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  return next;
}

/** Deletes what no kept generation (nor the last backup's log pin) needs: older segments, other generations' files, temp files. */
function tidy(dir: string, meta: Meta): void {
  const oldest = Math.min(...meta.generations.map((g) => g.walSeq), readLogPin(dir)?.walSeq ?? Infinity);
  for (const s of listSegments(dir)) if (s.seq < oldest) unlinkSync(s.path);
  for (const name of strayFiles(dir, new Set(meta.generations.map((g) => g.generation)))) unlinkSync(join(dir, name));
}

function moveAsideReported(dir: string, names: string[], into: string, report: RecoveryReport): string | null {
  const moved = moveAside(dir, names, into);
  return moved.length > 0 ? into : report.movedTo;
}

async function startEmpty(dir: string, shape: Shape, report: RecoveryReport, aside: string, nextGeneration: number): Promise<Recovered> {
  const names = [META_FILE, ...generationsOnDisk(dir).flatMap((g) => [indexName(g), idName(g)]), ...listSegments(dir).map((s) => segmentName(s.seq))];
  report.movedTo = moveAsideReported(dir, names, aside, report);
  report.lossy = true;
  report.problems.push(`--recover=empty: moved every snapshot and log file into ${aside} and started empty`);
  const meta: Meta = { format: FORMAT_VERSION, ...shape, generations: [{ generation: 0, walSeq: 0 }] };
  await writeMeta(dir, meta);
  return { meta, nextSeq: 0, nextGeneration, report, asideAfterSave: [], asideInto: aside };
}

/** --recover=previous: the newest generation whose own files verify, plus every record that still reads. */
async function lenient(
  dir: string,
  shape: Shape,
  index: AnnIndex,
  store: VectorStore,
  candidates: Candidate[],
  report: RecoveryReport,
  aside: string,
  nextGeneration: number,
  damagedFiles: string[],
): Promise<Recovered> {
  report.lossy = true;
  let base: Candidate = { generation: 0, walSeq: 0, damage: null };
  for (const c of candidates) {
    if (c.damage) {
      damagedFiles.push(indexName(c.generation), idName(c.generation));
      report.problems.push(`--recover=previous: generation ${c.generation} is damaged (${c.damage}); moved aside`);
      continue;
    }
    const loadError = c.generation > 0 ? loadGraph(dir, index, c, report) : null;
    if (loadError) {
      damagedFiles.push(indexName(c.generation), idName(c.generation));
      report.problems.push(`--recover=previous: generation ${c.generation} is damaged (${loadError}); moved aside`);
      continue;
    }
    base = c;
    break;
  }
  if (base.ids) store.restore(decodeIdFile(base.ids.bytes).columns);
  // with no generation left, every segment still on disk is replayed, whatever its seq
  const chain = readChain(dir, base.generation > 0 ? base.walSeq : 0, shape.dimension, true);
  for (const s of chain.segments) {
    if (s.contents.damage) {
      damagedFiles.push(s.name);
      report.problems.push(`--recover=previous: ${s.name} is damaged (${s.contents.damage}); kept the ${s.contents.records.length} records that read`);
    }
  }
  replay(store, chain, report);
  report.generation = base.generation;
  report.problems.push(
    `--recover=previous: loaded generation ${base.generation} and ${report.replayedRecords} log records; writes in the damaged parts are lost`,
  );
  const meta: Meta = { format: FORMAT_VERSION, ...shape, generations: [{ generation: base.generation, walSeq: base.walSeq }] };
  // the damaged files stay in place until a new snapshot holds what was read from them
  const last = chain.segments.at(-1);
  return {
    meta,
    nextSeq: last ? last.seq + 1 : base.walSeq,
    nextGeneration,
    report,
    asideAfterSave: [...new Set(damagedFiles)],
    asideInto: aside,
  };
}
