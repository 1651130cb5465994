// meta.json: what a snapshot directory holds and how it was built. Written last, so
// it is the commit point of a save: it names the generation of the index and id-map
// files and the first WAL segment not contained in them.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Metric, Quantization } from "../../index/types";
import { failedPrecondition } from "./errors";
import { writeFileAtomic } from "./durable-file";

export const FORMAT_VERSION = 1;

export interface Meta {
  format: number;
  dimension: number;
  metric: Metric;
  quantization: Quantization;
  generation: number;
  /** WAL segments with seq >= walSeq hold mutations newer than this snapshot */
  walSeq: number;
}

const METRIC_FLAG: Record<Metric, string> = { l2sq: "l2", cos: "cosine", ip: "ip" };
const QUANT_FLAG: Record<Quantization, string> = { f32: "float", f16: "float16", i8: "int8" };

function flagsOf(m: { dimension: number; metric: Metric; quantization: Quantization }): string {
  return `--dimension=${m.dimension} --distance-type=${METRIC_FLAG[m.metric] ?? m.metric} --object-type=${QUANT_FLAG[m.quantization] ?? m.quantization}`;
}

export function metaPath(dir: string): string {
  return join(dir, "meta.json");
}

export function readMeta(dir: string): Meta | null {
  const path = metaPath(dir);
  if (!existsSync(path)) return null;
  return JSON.parse(readFileSync(path, "utf8")) as Meta;
}

export function writeMeta(dir: string, meta: Meta): Promise<void> {
  return writeFileAtomic(metaPath(dir), JSON.stringify(meta, null, 2) + "\n");
}

/** Refuses a directory built for other vectors; the message says which flags to use. */
export function checkMeta(
  dir: string,
  meta: Meta,
  want: { dimension: number; metric: Metric; quantization: Quantization },
): void {
  if (meta.format !== FORMAT_VERSION) {
    throw failedPrecondition(`${dir} holds an index in format ${meta.format}; this alvd reads format ${FORMAT_VERSION}`);
  }
  if (meta.dimension !== want.dimension || meta.metric !== want.metric || meta.quantization !== want.quantization) {
    throw failedPrecondition(
      `--index-path ${dir} holds an index built with ${flagsOf(meta)} but this agent runs with ${flagsOf(want)}; ` +
        `start with the same flags or use another --index-path`,
    );
  }
}
