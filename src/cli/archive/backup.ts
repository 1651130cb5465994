// alvd backup --out DIR|FILE [--since PREV]: every agent's consistent point, through
// the server's Backup service, into one file (backup-format.ts). All agents are asked
// for their checkpoint at once (a full one saves the index; an incremental one closes
// the current log segment), then their files or log records are read one after the
// other. Each file is checked against the CRC-32 its agent announced. The file appears
// under its name only when complete (FILE.partial, fsynced, renamed); only then are the
// agents told to keep their log from this point for the next --since.
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Backup, LogRecord_Kind, type Checkpoint, type LogRecord } from "../../gen/alvd/cluster/v1/backup_pb";
import { version } from "../../version";
import type { Command, Ctx } from "../context";
import { attempt, CliError, describe } from "../errors";
import { ByteReader, openFile } from "../load/bytes";
import { createProgress } from "../progress";
import { BackupWriter, readBackup, type AgentEntry, type BackupManifest, type LogEntry } from "./backup-format";

export const BACKUP_SUFFIX = ".alvdbak";

const noop = () => {};

/** Reads and verifies a whole backup file; its manifest. */
export async function verifiedManifest(path: string): Promise<BackupManifest> {
  return readBackup(new ByteReader(openFile(path).stream, path), path, { agent: noop, file: noop, log: noop });
}

/** --since: the file, or the newest backup in a directory. */
function sinceFile(arg: string): string {
  let st;
  try {
    st = statSync(arg);
  } catch (e) {
    throw new CliError(`--since ${arg}: ${(e as Error).message}`, 2);
  }
  if (!st.isDirectory()) return arg;
  const found = readdirSync(arg).filter((n) => n.endsWith(BACKUP_SUFFIX)).sort();
  if (found.length === 0) throw new CliError(`--since ${arg}: no *${BACKUP_SUFFIX} file in that directory`, 2);
  return join(arg, found.at(-1)!);
}

function outFile(out: string, incremental: boolean, now: Date): string {
  const isDir = out.endsWith("/") || (existsSync(out) && statSync(out).isDirectory());
  if (!isDir) return out;
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return join(out, `alvd-${stamp}${incremental ? "-incr" : "-full"}${BACKUP_SUFFIX}`);
}

function logEntry(r: LogRecord): LogEntry {
  switch (r.kind) {
    case LogRecord_Kind.PUT:
      return { kind: "put", id: r.id, timestamp: r.timestamp, vector: new Float32Array(new Uint8Array(r.vector).buffer) };
    case LogRecord_Kind.REMOVE:
      return { kind: "remove", id: r.id };
    case LogRecord_Kind.TIMESTAMP:
      return { kind: "timestamp", id: r.id, timestamp: r.timestamp };
    case LogRecord_Kind.FLUSH:
      return { kind: "flush" };
    default:
      throw new CliError(`the server sent a log record of unknown kind ${r.kind}: use the alvd version of the server`);
  }
}

function entryOf(c: Checkpoint): AgentEntry {
  const s = c.shape!;
  return {
    name: s.name,
    dimension: s.dimension,
    metric: s.metric,
    quantization: s.quantization,
    connectivity: s.connectivity,
    persistent: s.persistent,
    stored: Number(s.stored),
    version: s.version,
    generation: Number(c.generation),
    walSeq: Number(c.walSeq),
    sinceWalSeq: Number(c.sinceWalSeq),
    history: c.history,
    files: c.files.map((f) => ({ name: f.name, bytes: Number(f.bytes), crc32: f.crc32 })),
    logRecords: Number(c.logRecords),
  };
}

async function previous(ctx: Ctx): Promise<BackupManifest | undefined> {
  if (ctx.values.since === "") return undefined;
  const path = sinceFile(ctx.values.since);
  const m = await verifiedManifest(path);
  ctx.io.err(`alvd backup: incremental since ${path} (${m.type}, ${m.created})\n`);
  return m;
}

export const backupCommand: Command = async (ctx) => {
  const f = ctx.values;
  if (ctx.args.length > 0) throw new CliError(`alvd backup takes no arguments (got "${ctx.args[0]}"; the file goes in --out)`, 2);
  if (f.out === "" || f.out === "-") throw new CliError("alvd backup needs --out FILE or --out DIR (a directory gets a file named by the time)", 2);
  const prev = await previous(ctx);
  const s = ctx.session();
  const backup = s.client(Backup);
  const t0 = performance.now();
  const now = new Date();
  const agents = (await attempt(s.target, () => backup.agents({}))).agents;
  if (agents.length === 0) throw new CliError(`${s.target.address} has no agent connected: nothing to back up`);
  if (prev) {
    const names = new Set(agents.map((a) => a.name));
    const missing = prev.agents.filter((a) => !names.has(a.name)).map((a) => a.name);
    const added = agents.filter((a) => !prev.agents.some((p) => p.name === a.name)).map((a) => a.name);
    if (missing.length > 0 || added.length > 0) {
      const why = missing.length > 0 ? `agent ${missing.join(", ")} of the previous backup is not connected` : `agent ${added.join(", ")} joined since the previous backup`;
      throw new CliError(`--since: ${why}: an incremental backup covers the same agents; take a full backup`);
    }
  }
  const path = outFile(f.out, prev !== undefined, now);
  const partial = `${path}.partial`;
  let fd: number;
  try {
    fd = openSync(partial, "w", 0o644);
  } catch (e) {
    throw new CliError(`cannot write ${partial}: ${(e as Error).message}`, 2);
  }
  const put = (b: Uint8Array | undefined) => {
    if (b !== undefined) for (let at = 0; at < b.length; ) at += writeSync(fd, b, at);
  };
  // every agent's point at once, so the points are as close in time as the agents allow
  const begun: { agent: string; checkpoint?: Checkpoint }[] = agents.map((a) => ({ agent: a.name }));
  const end = (keepLog: boolean) =>
    Promise.all(begun.filter((b) => b.checkpoint).map((b) => backup.end({ agent: b.agent, request: { backupId: b.checkpoint!.backupId, keepLog } }).catch(() => undefined)));
  const w = new BackupWriter();
  const id = crypto.randomUUID();
  let finished = false;
  let progress: ReturnType<typeof createProgress> | undefined;
  const entries: AgentEntry[] = [];
  try {
    await Promise.all(
      begun.map(async (b) => {
        const p = prev?.agents.find((a) => a.name === b.agent);
        if (p && p.walSeq < 0) throw new CliError(`agent ${b.agent} keeps no write-ahead log (no --index-path): an incremental backup needs one; take a full backup`);
        b.checkpoint = await backup.begin({ agent: b.agent, request: { incremental: p !== undefined, sinceWalSeq: BigInt(p?.walSeq ?? 0), history: p?.history ?? "" } }, { signal: ctx.stop });
      }),
    );
    const files = begun.reduce((n, b) => n + b.checkpoint!.files.reduce((m, x) => m + Number(x.bytes), 0), 0);
    const records = begun.reduce((n, b) => n + Number(b.checkpoint!.logRecords), 0);
    const unit = prev ? "records" : "bytes";
    progress = createProgress(ctx.io, { mode: f.progress, intervalMs: f["progress-interval"], label: "backup", unit, total: prev ? records : files });
    put(w.header({ created: now.toISOString(), tool: `alvd ${version}`, source: s.target.address, backup: { id, type: prev ? "incremental" : "full", base: prev?.id } }));
    let bytesDone = 0;
    let recordsDone = 0;
    for (const [n, b] of begun.entries()) {
      const c = b.checkpoint!;
      const entry = entryOf(c);
      entries.push(entry);
      put(w.agent(n, entry));
      for (const file of entry.files) {
        const sha = new Bun.CryptoHasher("sha256");
        let crc = 0;
        let got = 0;
        for await (const chunk of backup.readFile({ agent: b.agent, request: { backupId: c.backupId, name: file.name } }, { signal: ctx.stop })) {
          if (Number(chunk.offset) !== got) throw new CliError(`${b.agent} sent ${file.name} out of order (offset ${chunk.offset}, expected ${got})`);
          put(w.file(n, file.name, got, chunk.data));
          sha.update(chunk.data);
          crc = Bun.hash.crc32(chunk.data, crc) >>> 0;
          got += chunk.data.length;
          bytesDone += chunk.data.length;
          progress.update(bytesDone, 0);
        }
        if (got !== file.bytes || crc !== file.crc32) throw new CliError(`${b.agent}'s ${file.name} arrived damaged (${got} of ${file.bytes} bytes${got === file.bytes ? ", CRC-32 differs" : ""}): run the backup again`);
        file.sha256 = Buffer.from(sha.digest() as Uint8Array).toString("hex");
      }
      if (entry.logRecords > 0) {
        let got = 0;
        for await (const batch of backup.readLog({ agent: b.agent, request: { backupId: c.backupId } }, { signal: ctx.stop })) {
          for (const r of batch.records) put(w.logEntry(n, logEntry(r)));
          got += batch.records.length;
          recordsDone += batch.records.length;
          progress.update(recordsDone, 0);
        }
        put(w.flushLog());
        if (got !== entry.logRecords) throw new CliError(`${b.agent} sent ${got} of its ${entry.logRecords} log records: run the backup again`);
      }
    }
    const manifest: BackupManifest = {
      format: 1,
      id,
      type: prev ? "incremental" : "full",
      created: now.toISOString(),
      tool: `alvd ${version}`,
      source: s.target.address,
      base: prev ? { id: prev.id, created: prev.created } : undefined,
      agents: entries,
    };
    put(w.manifest(manifest));
    put(w.trailer());
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(partial, path);
    const d = openSync(dirname(resolve(path)), "r");
    fsyncSync(d);
    closeSync(d);
    finished = true;
  } catch (e) {
    if (ctx.stop.aborted) throw new CliError("interrupted: no backup was written");
    throw e instanceof CliError ? e : new CliError(describe(e, "", s.target));
  } finally {
    progress?.stop();
    if (fd >= 0) closeSync(fd);
    if (!finished) {
      rmSync(partial, { force: true });
      await end(false);
    }
  }
  await end(true);
  const seconds = (performance.now() - t0) / 1000;
  const vectors = entries.reduce((n, e) => n + e.stored, 0);
  const logRecords = entries.reduce((n, e) => n + e.logRecords, 0);
  const summary = { file: path, type: prev ? "incremental" : "full", agents: entries.length, storedVectors: vectors, logRecords, bytes: w.bytes, seconds: Number(seconds.toFixed(3)) };
  if (f.json) await ctx.io.out.json(summary);
  else {
    const what = prev ? `${logRecords.toLocaleString("en-US")} log records since the previous backup` : `${vectors.toLocaleString("en-US")} vectors`;
    await ctx.io.out.line(`backed up ${entries.length} agent${entries.length === 1 ? "" : "s"} (${what}) to ${path} (${(w.bytes / 1e6).toFixed(1)} MB) in ${seconds.toFixed(1)} s`);
  }
  return 0;
};
