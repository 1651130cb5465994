// Start real alvd processes for tests and stop them reliably.
import { resolve } from "node:path";
import type { Subprocess } from "bun";

export const ROOT = resolve(import.meta.dir, "../..");
export const BUN = resolve(ROOT, "node_modules/.bin/bun");
export const MAIN = resolve(ROOT, "src/main.ts");

export interface Running {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** everything the process wrote to stderr so far */
  logs(): string;
  /** SIGTERM, wait for exit (SIGKILL after graceMs); resolves to the exit code */
  stop(graceMs?: number): Promise<number | null>;
  kill9(): Promise<void>;
}

/** `cmd` defaults to running src/main.ts with bun; pass a binary path to test a build. */
export function spawnAlvd(args: string[], opts: { cmd?: string[]; cwd?: string; env?: Record<string, string> } = {}): Running {
  const cmd = opts.cmd ?? [BUN, MAIN];
  const proc = Bun.spawn([...cmd, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let err = "";
  void (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr) err += dec.decode(chunk);
  })();
  void (async () => {
    for await (const _ of proc.stdout) {
      /* drain */
    }
  })();
  return {
    proc,
    logs: () => err,
    async stop(graceMs = 10_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      const code = await proc.exited;
      clearTimeout(t);
      return code;
    },
    async kill9() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}

/** Poll an HTTP URL until it answers 200 (or the process dies / time runs out). */
/** `ca`: the CA that signed an https:// URL's certificate. */
export async function waitHttpOk(url: string, running: Running, timeoutMs = 20_000, ca?: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (running.proc.exitCode !== null) {
      throw new Error(`process exited with ${running.proc.exitCode} before ${url} was ready:\n${running.logs()}`);
    }
    try {
      const r = await fetch(url, ca ? { tls: { ca } } : {});
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await Bun.sleep(50);
  }
  throw new Error(`timed out waiting for ${url}:\n${running.logs()}`);
}

/** Run a short-lived command and collect its output. */
export async function runAlvd(args: string[], opts: { cmd?: string[]; env?: Record<string, string>; cwd?: string } = {}) {
  const cmd = opts.cmd ?? [BUN, MAIN];
  const proc = Bun.spawn([...cmd, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { stdout, stderr, code };
}
