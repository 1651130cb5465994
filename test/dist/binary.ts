// Shared by the dist tests and bench/dist.ts: the compiled linux-x64 binary, built at
// most once per source state (build.ts records a hash of its inputs next to dist/), and
// small process helpers for running it away from the repository.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DIST, ROOT, sourceHash } from "../../build";

export const TARGET = "linux-x64" as const;

export interface BuildInfo {
  target: string;
  binary: string;
  bytes: number;
  version: string;
  commit: string;
  sourceHash: string;
  archive?: string;
  archiveBytes?: number;
}

function recorded(): BuildInfo | undefined {
  const f = join(DIST, `.build-${TARGET}.json`);
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, "utf8")) as BuildInfo;
  } catch {
    return undefined;
  }
}

let pending: Promise<BuildInfo> | undefined;

/**
 * The linux-x64 binary for the current sources: reused from dist/ when its recorded
 * input hash matches, otherwise built once (a child `bun build.ts`, so its output shows
 * when it fails). `archive` also requires the release archive.
 */
export function releaseBinary(opts: { archive?: boolean } = {}): Promise<BuildInfo> {
  const fresh = (): BuildInfo | undefined => {
    const info = recorded();
    if (!info || info.sourceHash !== sourceHash(TARGET) || !existsSync(info.binary)) return undefined;
    if (opts.archive && !(info.archive && existsSync(info.archive))) return undefined;
    return info;
  };
  const reuse = fresh();
  if (reuse) return Promise.resolve(reuse);
  pending ??= new Promise<BuildInfo>((resolve, reject) => {
    const args = ["build.ts", "--target", TARGET, ...(opts.archive ? [] : ["--archive", "none"])];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 15 * 60_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      pending = undefined;
      const info = code === 0 ? fresh() : undefined;
      if (info) resolve(info);
      else reject(new Error(`bun build.ts failed (exit ${code}):\n${out}`));
    });
  });
  return pending;
}

/**
 * A directory holding only a copy of the binary, and an environment that points at
 * nothing in the repository: the binary must not find node_modules or sources by accident.
 */
export function isolatedCopy(binary: string): { dir: string; exe: string; env: Record<string, string>; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "alvd-dist-"));
  const exe = join(dir, "alvd");
  copyFileSync(binary, exe);
  spawnSync("chmod", ["755", exe]);
  const tmp = join(dir, "tmp");
  mkdirSync(tmp);
  const env = { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: dir, TMPDIR: tmp, BUN_TMPDIR: tmp, LANG: "C.UTF-8" };
  return { dir, exe, env, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}


export interface Proc {
  readonly pid: number;
  output(): string;
  /** resolves with the exit code (signal deaths as 128+n) */
  exited: Promise<number>;
  kill(signal?: NodeJS.Signals): void;
}

const SIGNALS: Record<string, number> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGSEGV: 11, SIGABRT: 6 };

export function start(exe: string, args: string[], opts: { cwd: string; env: Record<string, string> }): Proc {
  const child = spawn(exe, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise<number>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? 128 + (SIGNALS[signal ?? ""] ?? 0))),
  );
  return {
    pid: child.pid!,
    output: () => out,
    exited,
    kill: (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

/** Polls http://127.0.0.1:port/path (https:// with `ca`) until it answers 200; returns the milliseconds it took. */
export async function waitHttp(port: number, path: string, timeoutMs: number, intervalMs = 5, proc?: Proc, ca?: string): Promise<number> {
  const t0 = performance.now();
  let last = "";
  while (performance.now() - t0 < timeoutMs) {
    try {
      const r = await fetch(`${ca ? "https" : "http"}://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(1000), ...(ca ? { tls: { ca } } : {}) });
      if (r.status === 200) return performance.now() - t0;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await Bun.sleep(intervalMs);
  }
  throw new Error(`127.0.0.1:${port}${path} not ready after ${timeoutMs} ms (${last})${proc ? `\n--- output:\n${proc.output()}` : ""}`);
}

/** SIGTERM and wait; SIGKILL after graceMs so a hung process never outlives the test. */
export async function stop(p: Proc, graceMs = 15_000): Promise<number> {
  p.kill("SIGTERM");
  const timer = setTimeout(() => p.kill("SIGKILL"), graceMs);
  try {
    return await p.exited;
  } finally {
    clearTimeout(timer);
  }
}
