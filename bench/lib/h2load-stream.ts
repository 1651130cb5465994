// Drives one bidi gRPC stream with h2load (Debian's nghttp2-client): every request
// message goes down a single POST body as fast as HTTP/2 flow control lets it, the way
// a client with separate send and receive loops (grpc-go, grpc-java) writes ahead, and
// the answers are read and dropped. h2load is C and decodes nothing, so nearly all of
// the box is left to the server; the Python client instead waits for an answer before
// each next send once its window is full, and its own per-message cost sets the pace.
// It checks no grpc-status: callers verify the effect (IndexInfo counts) themselves.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function h2loadStream(target: string, path: string, messages: Uint8Array[]): Promise<{ wallMs: number; responseBytes: number }> {
  if (!Bun.which("h2load")) throw new Error("h2load not found: install Debian's nghttp2-client (apt-get install nghttp2-client)");
  const body = new Uint8Array(messages.reduce((n, m) => n + 5 + m.byteLength, 0));
  const view = new DataView(body.buffer);
  let at = 0;
  for (const m of messages) {
    view.setUint32(at + 1, m.byteLength);
    body.set(m, at + 5);
    at += 5 + m.byteLength;
  }
  const dir = mkdtempSync(join(tmpdir(), "alvd-h2load-"));
  try {
    const file = join(dir, "body.bin");
    writeFileSync(file, body);
    const p = Bun.spawn(["h2load", "-n1", "-c1", "-m1", "-d", file, "-H", "content-type: application/grpc", "-H", "te: trailers", `http://${target}${path}`], { stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = [await new Response(p.stdout).text(), await new Response(p.stderr).text(), await p.exited];
    if (code !== 0 || !/status codes: 1 2xx/.test(out)) throw new Error(`h2load on ${path} failed (${code}): ${(err || out).trim().split("\n").slice(-3).join(" / ")}`);
    // h2load's own clock: connection open to last answer, not its start-up
    const took = /finished in ([\d.]+)(ms|s),/.exec(out);
    if (!took) throw new Error(`h2load on ${path}: no "finished in" line in its report`);
    const wallMs = Number(took[1]) * (took[2] === "s" ? 1000 : 1);
    const data = /traffic: .*? (\d+)\) data/.exec(out);
    return { wallMs, responseBytes: data ? Number(data[1]) : 0 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
