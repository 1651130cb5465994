// Drives a gRPC method with Debian's python3-grpcio (C-core) from pre-encoded request
// messages (bench/lib/grpc_load.py): the load costs the client little, decodes nothing,
// and runs in its own process, whose CPU the benchmarks do not count.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SCRIPT = join(import.meta.dir, "grpc_load.py");

export interface LoadRun {
  wallMs: number;
  /** per call, in request order (repeats appended) */
  latenciesMs: Float64Array;
  /** response message bytes, per call */
  responses: Uint8Array[];
}

function frame(messages: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(messages.reduce((n, m) => n + 4 + m.byteLength, 0));
  const v = new DataView(out.buffer);
  let at = 0;
  for (const m of messages) {
    v.setUint32(at, m.byteLength);
    out.set(m, at + 4);
    at += 4 + m.byteLength;
  }
  return out;
}

/** `stream`: the requests go down one bidi stream with `concurrency` in flight */
export async function cLoad(target: string, path: string, requests: Uint8Array[], opts: { repeat?: number; concurrency: number; stream?: boolean }): Promise<LoadRun> {
  const dir = mkdtempSync(join(tmpdir(), "alvd-cload-"));
  try {
    const reqFile = join(dir, "requests.bin");
    const outFile = join(dir, "out.bin");
    writeFileSync(reqFile, frame(requests));
    const p = Bun.spawn(["/usr/bin/python3", SCRIPT, target, path, reqFile, String(opts.repeat ?? 1), String(opts.concurrency), outFile, ...(opts.stream ? ["stream"] : [])], { stdout: "pipe", stderr: "pipe" });
    const [err, code] = [await new Response(p.stderr).text(), await p.exited];
    if (code !== 0) throw new Error(`python grpc load on ${path} failed (${code}): ${err.trim()}`);
    const buf = readFileSync(outFile);
    const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const n = Number(v.getBigUint64(0));
    const wallMs = Number(v.getBigUint64(8)) / 1e6;
    const latenciesMs = new Float64Array(n);
    const responses: Uint8Array[] = [];
    let at = 16;
    for (let i = 0; i < n; i++) {
      const len = v.getUint32(at);
      responses.push(new Uint8Array(buf.buffer, buf.byteOffset + at + 4, len));
      at += 4 + len;
      latenciesMs[i] = Number(v.getBigUint64(at)) / 1e6;
      at += 8;
    }
    return { wallMs, latenciesMs, responses };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
