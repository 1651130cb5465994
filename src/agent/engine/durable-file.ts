// Crash-safe file replacement: a reader sees either the old file or the complete new
// one, never a prefix. Data is fsynced before the rename and the directory after it,
// so the rename itself survives a power cut.
import { open, rename, unlink } from "node:fs/promises";
import { constants, fsyncSync, openSync, closeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
}

/** Moves a fully written temp file into place durably. */
export async function commitTemp(temp: string, path: string): Promise<void> {
  await fsyncPath(temp);
  await rename(temp, path);
  await fsyncPath(dirname(path));
}

export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const temp = tempPathFor(path);
  const fh = await open(temp, "w");
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(temp).catch(() => {});
    throw err;
  }
  await fh.close();
  await rename(temp, path);
  await fsyncPath(dirname(path));
}
