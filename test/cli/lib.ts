// Running the client commands as users do: a real process (bun src/main.ts, or a built
// binary), with stdin from a string or a file, and shell pipelines between commands.
import { existsSync } from "node:fs";
import { BUN, MAIN, ROOT } from "../lib/process";

/** Fashion-MNIST's training images from Debian's dataset-fashion-mnist (.ci/run installs it). */
export const FASHION_MNIST = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";

export function requireFashionMnist(): void {
  if (!existsSync(FASHION_MNIST)) throw new Error(`${FASHION_MNIST} is missing: apt-get install dataset-fashion-mnist`);
}

/** Vectors a server holds, committed or not (IndexInfo's stored counts only what CreateIndex committed, as in Vald). */
export async function held(index: { indexInfo(req: object): Promise<{ stored: number; uncommitted: number }> }): Promise<number> {
  const c = await index.indexInfo({});
  return c.stored + c.uncommitted;
}

export interface CliRun {
  stdout: string;
  stderr: string;
  code: number;
}

export interface CliOptions {
  /** the alvd command line before the arguments: default bun src/main.ts */
  cmd?: string[];
  stdin?: string | Uint8Array;
  env?: Record<string, string>;
  cwd?: string;
}

const ENV_KEEP = ["PATH", "HOME", "TMPDIR", "LANG"];

/** The environment minus ALVD_* so a developer's shell cannot change what a test sees. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ENV_KEEP) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  return { ...env, ...extra };
}

export async function cli(args: string[], opts: CliOptions = {}): Promise<CliRun> {
  const proc = Bun.spawn([...(opts.cmd ?? [BUN, MAIN]), ...args], {
    cwd: opts.cwd ?? ROOT,
    env: opts.env ?? cleanEnv(),
    stdin: opts.stdin === undefined ? "ignore" : typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : opts.stdin,
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 110_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { stdout, stderr, code };
}

/** A bash pipeline where `alvd` is the command under test (a shell function). */
export async function shell(script: string, opts: CliOptions = {}): Promise<CliRun> {
  const cmd = (opts.cmd ?? [BUN, MAIN]).map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  return cli(["-c", `set -o pipefail; alvd() { ${cmd} "$@"; }; ${script}`], { ...opts, cmd: ["bash"] });
}

/** Deterministic float32 vectors (values exact in float32). */
export function f32Vectors(n: number, dim: number, seed = 7): Float32Array[] {
  let s = seed >>> 0;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  return Array.from({ length: n }, () => Float32Array.from({ length: dim }, () => rnd() * 2 - 1));
}

/** Bitwise equality of float32 vectors (so -0 ≠ 0 and every bit counts). */
export function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  const x = new Uint32Array(Float32Array.from(a).buffer);
  const y = new Uint32Array(Float32Array.from(b).buffer);
  return x.length === y.length && x.every((w, i) => w === y[i]);
}
