// Names and checks of the files in --index-path, and the broken/ folder damaged files
// are moved into (never deleted: an operator or a later tool may still read them).
import { existsSync, mkdirSync, readdirSync, renameSync } from "node:fs";
import { open, stat } from "node:fs/promises";
import { join } from "node:path";
import { fsyncDirSync } from "./durable-file";
import { crc32 } from "./wal-record";

const SNAPSHOT_FILE = /^(index|ids)-(\d+)\.(usearch|bin)$/;
const TEMP_FILE = /^\.(index-\d+\.usearch|ids-\d+\.bin|meta\.json)\..*\.tmp$/;
const CHUNK = 4 << 20;

export function indexName(generation: number): string {
  return `index-${generation}.usearch`;
}

export function idName(generation: number): string {
  return `ids-${generation}.bin`;
}

/** generations with at least one snapshot file in dir, newest first */
export function generationsOnDisk(dir: string): number[] {
  const found = new Set<number>();
  for (const name of readdirSync(dir)) {
    const m = SNAPSHOT_FILE.exec(name);
    if (m) found.add(Number(m[2]));
  }
  return [...found].sort((a, b) => b - a);
}

/** snapshot files of generations not in `keep`, and temp files of interrupted writes */
export function strayFiles(dir: string, keep: Set<number>): string[] {
  return readdirSync(dir).filter((name) => {
    const m = SNAPSHOT_FILE.exec(name);
    return (m && !keep.has(Number(m[2]))) || TEMP_FILE.test(name);
  });
}

/** size and crc32 of a file, read in chunks so a large graph never sits in memory twice */
export async function fileChecksum(path: string): Promise<{ bytes: number; crc32: number }> {
  const fh = await open(path, "r");
  try {
    const buf = new Uint8Array(CHUNK);
    let sum = 0;
    let bytes = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, bytes);
      if (bytesRead === 0) return { bytes, crc32: sum };
      sum = crc32(buf.subarray(0, bytesRead), sum);
      bytes += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

/** Why a graph file does not match what its id file recorded, or null when it does. */
export async function graphProblem(path: string, want: { graphBytes: number; graphCrc32: number }): Promise<string | null> {
  const st = await stat(path).catch(() => null);
  if (!st) return "it is missing";
  if (st.size !== want.graphBytes) return `it is ${st.size} bytes, its snapshot recorded ${want.graphBytes}`;
  const got = await fileChecksum(path);
  return got.crc32 === want.graphCrc32 ? null : "its checksum does not match";
}

/** A folder under dir/broken/ for this start-up, named by the time. */
export function brokenDir(dir: string, now = new Date()): string {
  return join(dir, "broken", now.toISOString().replace(/[:.]/g, "-"));
}

/** Moves the named files of dir (those that exist) into `into`, durably. */
export function moveAside(dir: string, names: string[], into: string): string[] {
  const present = names.filter((n) => existsSync(join(dir, n)));
  if (present.length === 0) return [];
  mkdirSync(into, { recursive: true });
  for (const name of present) renameSync(join(dir, name), join(into, name));
  fsyncDirSync(into);
  fsyncDirSync(dir);
  return present;
}
