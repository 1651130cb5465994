// alvd export --out FILE: every vector (id, vector, timestamp) through Object's
// StreamListObject — the public API, so Vald clusters export the same way — into the
// format of format.ts. The file appears under its name only when complete (written as
// FILE.partial, fsynced, renamed); a failed export leaves nothing that looks whole.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Client } from "@connectrpc/connect";
import { Index } from "../../gen/vald/v1/index_pb";
import { Object$ } from "../../gen/vald/v1/object_pb";
import { version } from "../../version";
import type { Command } from "../context";
import { CliError, codeName, describe } from "../errors";
import { createProgress } from "../progress";
import { ExportEncoder } from "./format";

/** Distinct vectors the cluster holds, about: copies (committed or not) over replicas (alvd's IndexDetail). */
async function estimate(index: Client<typeof Index>): Promise<number | undefined> {
  try {
    const d = await index.indexDetail({});
    const copies = Object.values(d.counts).reduce((a, c) => a + c.stored + c.uncommitted, 0);
    const replicas = Math.max(1, Math.min(d.replica || 1, d.liveAgents || Object.keys(d.counts).length || 1));
    return Math.round(copies / replicas);
  } catch {
    return undefined; // an agent, or a server without IndexDetail: no total, no ETA
  }
}

export const exportCommand: Command = async (ctx) => {
  const f = ctx.values;
  if (ctx.args.length > 0) throw new CliError(`alvd export takes no arguments (got "${ctx.args[0]}"; the file goes in --out)`, 2);
  if (f.out === "") throw new CliError("alvd export needs --out FILE (or --out - for stdout)", 2);
  const s = ctx.session();
  const toStdout = f.out === "-";
  const partial = `${f.out}.partial`;
  let fd: number | undefined;
  if (!toStdout) {
    try {
      fd = openSync(partial, "w", 0o644);
    } catch (e) {
      throw new CliError(`cannot write ${partial}: ${(e as Error).message}`, 2);
    }
  }
  const put = async (b: Uint8Array | undefined) => {
    if (b === undefined) return;
    if (fd === undefined) await ctx.io.out.write(b);
    else for (let at = 0; at < b.length; ) at += writeSync(fd, b, at);
  };
  const total = await estimate(s.client(Index));
  const progress = createProgress(ctx.io, { mode: f.progress, intervalMs: f["progress-interval"], label: "export", unit: "vectors", total });
  const enc = new ExportEncoder();
  const t0 = performance.now();
  let finished = false;
  try {
    await put(enc.header({ kind: "vectors", created: new Date().toISOString(), tool: `alvd ${version}`, source: s.target.address }));
    for await (const res of s.client(Object$).streamListObject({}, { signal: ctx.stop })) {
      if (res.payload.case === "status") {
        const st = res.payload.value;
        throw new CliError(`the server could not list every vector: ${codeName(st.code)}: ${st.message}`);
      }
      if (res.payload.case !== "vector") continue;
      const v = res.payload.value;
      await put(enc.add({ id: v.id, timestamp: v.timestamp, vector: Float32Array.from(v.vector) }));
      progress.update(enc.records, 0);
      if (ctx.io.out.closed) throw new CliError("stdout was closed before the export finished");
    }
    await put(enc.flush());
    await put(enc.trailer());
    if (fd !== undefined) {
      fsyncSync(fd);
      closeSync(fd);
      fd = undefined;
      renameSync(partial, f.out);
      const d = openSync(dirname(resolve(f.out)), "r"); // the rename itself survives a crash
      fsyncSync(d);
      closeSync(d);
    }
    finished = true;
  } catch (e) {
    if (ctx.stop.aborted) throw new CliError(`interrupted after ${enc.records.toLocaleString("en-US")} vectors: no export was written`);
    throw e instanceof CliError ? e : new CliError(describe(e, "", s.target));
  } finally {
    progress.stop();
    if (fd !== undefined) closeSync(fd);
    if (!finished && !toStdout) rmSync(partial, { force: true });
  }
  const seconds = (performance.now() - t0) / 1000;
  const summary = { exported: enc.records, blocks: enc.blocks, bytes: enc.bytes, file: f.out, seconds: Number(seconds.toFixed(3)) };
  const report = (text: string) => (toStdout ? ctx.io.err(`${text}\n`) : ctx.io.out.line(text));
  if (f.json && !toStdout) await ctx.io.out.json(summary);
  else await report(`exported ${enc.records.toLocaleString("en-US")} vectors to ${toStdout ? "stdout" : f.out} (${(enc.bytes / 1e6).toFixed(1)} MB) in ${seconds.toFixed(1)} s (${Math.round(enc.records / Math.max(seconds, 1e-9)).toLocaleString("en-US")}/s)`);
  if (total !== undefined && enc.records < total) {
    ctx.io.err(`alvd export: warning: the cluster reported about ${total.toLocaleString("en-US")} distinct vectors, ${enc.records.toLocaleString("en-US")} were listed (writes during the export, or an agent that left?)\n`);
  }
  return 0;
};
