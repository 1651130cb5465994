// One agent per --index-path: two processes appending to the same WAL and replacing
// each other's snapshots would lose acknowledged writes. The lock is a file holding
// the owner's pid; a lock whose process is gone (crash, SIGKILL) is taken over, and
// so is one holding our own pid (a restarted container often gets the same pid).
import { openSync, readFileSync, unlinkSync, writeFileSync, closeSync, writeSync } from "node:fs";
import { join } from "node:path";
import { failedPrecondition } from "./errors";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function lockDir(dir: string): { release(): void } {
  const path = join(dir, "LOCK");
  try {
    const fd = openSync(path, "wx");
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    const owner = Number.parseInt(readFileSync(path, "utf8"), 10);
    if (Number.isSafeInteger(owner) && owner !== process.pid && alive(owner)) {
      throw failedPrecondition(`--index-path ${dir} is in use by process ${owner}; give each agent its own directory`);
    }
    writeFileSync(path, `${process.pid}\n`);
  }
  return {
    release() {
      try {
        if (Number.parseInt(readFileSync(path, "utf8"), 10) === process.pid) unlinkSync(path);
      } catch {
        // already gone: nothing to release
      }
    },
  };
}
