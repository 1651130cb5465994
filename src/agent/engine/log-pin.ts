// backup-log.json: what backups need from this directory's write-ahead log. `history`
// names the log's line of descent (made at the first backup, replaced when a restore
// installs another snapshot), so a segment number from an earlier backup is only
// compared within the same history. `walSeq` is the first segment the last backup did
// not contain: the agent keeps segments from there on, even those no snapshot needs any
// more, so the next incremental backup (`alvd backup --since`) can read every change
// since. Written atomically with a checksum; a damaged or missing file means neither
// (the next incremental backup is then refused and asks for a full one; nothing else is lost).
import { readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { fsyncDirSync, writeFileAtomic } from "./durable-file";
import { crc32 } from "./wal-record";

const FILE = "backup-log.json";
const encoder = new TextEncoder();

export interface LogPin {
  history: string;
  /** null: no backup was written yet */
  walSeq: number | null;
}

const sum = (p: LogPin) => crc32(encoder.encode(`${p.history}/${p.walSeq}`));

export function readLogPin(dir: string): LogPin | null {
  try {
    const parsed = JSON.parse(readFileSync(join(dir, FILE), "utf8")) as { history?: unknown; walSeq?: unknown; crc32?: unknown };
    const { history, walSeq } = parsed;
    if (typeof history !== "string" || history === "") return null;
    if (walSeq !== null && (typeof walSeq !== "number" || !Number.isSafeInteger(walSeq) || walSeq < 0)) return null;
    const pin = { history, walSeq };
    return parsed.crc32 === sum(pin) ? pin : null;
  } catch {
    return null;
  }
}

export function writeLogPin(dir: string, pin: LogPin): Promise<void> {
  return writeFileAtomic(join(dir, FILE), `${JSON.stringify({ ...pin, crc32: sum(pin) })}\n`);
}

/** A restore replaced the data: no earlier backup's positions apply any more. */
export function dropLogPin(dir: string): void {
  try {
    unlinkSync(join(dir, FILE));
    fsyncDirSync(dir);
  } catch {
    // absent already
  }
}
