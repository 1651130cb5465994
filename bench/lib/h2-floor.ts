// Starts bench/lib/h2-echo.ts as its own process (see there) for bench perf.
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort } from "./process";

export interface EchoServer {
  addr: string;
  proc: Subprocess;
  stop(): Promise<void>;
}

export async function startH2Echo(answerBytes: number): Promise<EchoServer> {
  const port = await freePort();
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, "h2-echo.ts"), String(port), String(answerBytes)], { stdout: "pipe", stderr: "inherit" });
  const dec = new TextDecoder();
  let out = "";
  for await (const c of proc.stdout as ReadableStream<Uint8Array>) {
    out += dec.decode(c);
    if (out.includes("ready")) break;
  }
  if (!out.includes("ready")) throw new Error(`h2-echo did not start (exit ${await proc.exited})`);
  return {
    addr: `127.0.0.1:${port}`,
    proc,
    async stop() {
      proc.kill();
      await proc.exited;
    },
  };
}
