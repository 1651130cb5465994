// Start an alvd process for a benchmark and wait until its /readyz says ready.
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { freePort } from "../../test/lib/ports";

export { freePort };

export const ROOT = resolve(import.meta.dir, "../..");

export interface AlvdProcess {
  proc: Subprocess;
  metricsPort: number;
  output(): string;
  stop(): Promise<number>;
}

/** `alvd <command> ...args --metrics-port <free>`; ALVD_BENCH_CMD runs e.g. the compiled binary instead */
export async function startAlvd(command: "agent" | "server", args: string[], readyTimeoutMs = 60_000): Promise<AlvdProcess> {
  const metricsPort = await freePort();
  const cmd = process.env.ALVD_BENCH_CMD ? process.env.ALVD_BENCH_CMD.split(" ").filter(Boolean) : [process.execPath, join(ROOT, "src/main.ts")];
  const proc = Bun.spawn([...cmd, command, ...args, "--metrics-host", "127.0.0.1", "--metrics-port", String(metricsPort)], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  for (const s of [proc.stdout, proc.stderr] as ReadableStream<Uint8Array>[]) {
    void (async () => {
      const dec = new TextDecoder();
      for await (const c of s) out += dec.decode(c);
    })();
  }
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill("SIGKILL");
      await proc.exited;
      throw new Error(`alvd ${command} did not become ready:\n${out}`);
    }
    await Bun.sleep(50);
  }
  return {
    proc,
    metricsPort,
    output: () => out,
    async stop() {
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 30_000);
      const code = await proc.exited;
      clearTimeout(t);
      return code;
    },
  };
}
