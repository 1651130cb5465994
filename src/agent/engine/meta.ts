// meta.json: what a snapshot directory holds and how it was built. Written last, so
// it is the commit point of a save: it lists the kept generations, newest first, each
// with the first WAL segment not contained in it. Generation 0 is the empty start:
// kept while fewer real snapshots exist, it means "replay every segment from 0".
// A checksum over its fields tells a damaged file from a valid one.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Metric, Quantization } from "../../index/types";
import { failedPrecondition } from "./errors";
import { writeFileAtomic } from "./durable-file";
import { crc32 } from "./wal-record";

export const FORMAT_VERSION = 2;

export interface Shape {
  dimension: number;
  metric: Metric;
  quantization: Quantization;
}

export interface KeptGeneration {
  generation: number;
  walSeq: number;
}

export interface Meta extends Shape {
  format: number;
  /** newest first */
  generations: KeptGeneration[];
}

const METRIC_FLAG: Record<Metric, string> = { l2sq: "l2", cos: "cosine", ip: "ip" };
const QUANT_FLAG: Record<Quantization, string> = { f32: "float", f16: "float16", i8: "int8" };

function flagsOf(m: Shape): string {
  return `--dimension=${m.dimension} --distance-type=${METRIC_FLAG[m.metric] ?? m.metric} --object-type=${QUANT_FLAG[m.quantization] ?? m.quantization}`;
}

export const META_FILE = "meta.json";

export function metaPath(dir: string): string {
  return join(dir, META_FILE);
}

/** the checksummed part, in a fixed key order */
function body(m: Meta): string {
  return JSON.stringify({
    format: m.format,
    dimension: m.dimension,
    metric: m.metric,
    quantization: m.quantization,
    generations: m.generations.map((g) => ({ generation: g.generation, walSeq: g.walSeq })),
  });
}

export type MetaRead = { state: "missing" } | { state: "damaged"; why: string } | { state: "ok"; meta: Meta };

export function readMeta(dir: string): MetaRead {
  const path = metaPath(dir);
  if (!existsSync(path)) return { state: "missing" };
  let parsed: Meta & { crc32?: unknown };
  try {
    parsed = JSON.parse(readFileSync(path, "utf8")) as Meta & { crc32?: unknown };
  } catch {
    return { state: "damaged", why: "it is not valid JSON" };
  }
  if (typeof parsed !== "object" || parsed === null) return { state: "damaged", why: "it is not a JSON object" };
  // an older format is a version question, not damage: checkMeta says so
  if (parsed.format !== FORMAT_VERSION) return { state: "ok", meta: parsed };
  if (!Array.isArray(parsed.generations) || parsed.crc32 !== crc32(new TextEncoder().encode(body(parsed)))) {
    return { state: "damaged", why: "its checksum does not match" };
  }
  return { state: "ok", meta: parsed };
}

export function writeMeta(dir: string, meta: Meta): Promise<void> {
  const text = body(meta);
  const withSum = { ...(JSON.parse(text) as object), crc32: crc32(new TextEncoder().encode(text)) };
  return writeFileAtomic(metaPath(dir), JSON.stringify(withSum, null, 2) + "\n");
}

/** Refuses a directory built for other vectors; the message says which flags to use. */
export function checkShape(dir: string, found: Shape & { format?: number }, want: Shape): void {
  if (found.format !== undefined && found.format !== FORMAT_VERSION) {
    throw failedPrecondition(`--index-path ${dir} holds an index in format ${found.format}; this alvd reads format ${FORMAT_VERSION}`);
  }
  if (found.dimension !== want.dimension || found.metric !== want.metric || found.quantization !== want.quantization) {
    throw failedPrecondition(
      `--index-path ${dir} holds an index built with ${flagsOf(found)} but this agent runs with ${flagsOf(want)}; ` +
        `start with the same flags or use another --index-path`,
    );
  }
}
