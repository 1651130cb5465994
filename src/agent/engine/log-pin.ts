// log-pin.json: the first write-ahead log segment the last backup did not contain. The
// agent keeps segments from there on, even those no snapshot needs any more, so the next
// incremental backup (`alvd backup --since`) can read every change since. Written
// atomically with a checksum; a damaged or missing file means no pin (the next
// incremental backup is then refused and asks for a full one, nothing else is lost).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "./durable-file";
import { crc32 } from "./wal-record";

const FILE = "log-pin.json";
const encoder = new TextEncoder();

export function readLogPin(dir: string): number | null {
  try {
    const parsed = JSON.parse(readFileSync(join(dir, FILE), "utf8")) as { walSeq?: unknown; crc32?: unknown };
    const seq = parsed.walSeq;
    if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) return null;
    return parsed.crc32 === crc32(encoder.encode(String(seq))) ? seq : null;
  } catch {
    return null;
  }
}

export function writeLogPin(dir: string, walSeq: number): Promise<void> {
  return writeFileAtomic(join(dir, FILE), `${JSON.stringify({ walSeq, crc32: crc32(encoder.encode(String(walSeq))) })}\n`);
}
