// alvd restore FULL [INCR...]: a cluster back from a backup chain. First every file is
// read whole and verified (checksums, manifest, the chain's order) while the snapshot
// files are unpacked into a temporary directory: a damaged or misordered chain is
// refused before the cluster is touched. Then, when the cluster's agents are empty and
// match the backup's (same count, dimension, distance, storage), each agent gets its
// snapshot installed file by file (mode "files": no index rebuild); otherwise the
// snapshots are opened here with the agent's own engine and their vectors upserted
// through the Vald API (mode "import"). An incremental chain is applied to the opened
// snapshot first (its log records, in order), so both modes restore the chain's end.
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEngine } from "../../agent/engine/engine";
import { decodeIdFile } from "../../agent/engine/id-file";
import { FORMAT_VERSION, readMeta, writeMeta } from "../../agent/engine/meta";
import { idName, indexName } from "../../agent/engine/snapshot-files";
import type { Engine } from "../../agent/engine/types";
import type { Metric, Quantization } from "../../index/types";
import { Backup, type AgentInstallPart, type SnapshotShape } from "../../gen/alvd/cluster/v1/backup_pb";
import { Object$ } from "../../gen/vald/v1/object_pb";
import type { Command, Ctx } from "../context";
import { attempt, CliError, describe } from "../errors";
import { ByteReader, openFile } from "../load/bytes";
import { createProgress } from "../progress";
import { reportWrite, streamWrite, type WriteItem } from "../writes";
import { FILE_CHUNK, readBackup, type AgentEntry, type BackupManifest, type LogEntry } from "./backup-format";

interface Source {
  entry: AgentEntry;
  /** where its snapshot files were unpacked */
  dir: string;
  /** the incrementals' log records, in order */
  log: LogEntry[];
}

const n = (x: number) => x.toLocaleString("en-US");

/** Reads, verifies and unpacks the chain; nothing leaves this machine. */
async function unpack(ctx: Ctx, paths: string[], tmp: string): Promise<{ sources: Source[]; chain: BackupManifest[] }> {
  const total = paths.reduce((a, p) => a + statSync(p).size, 0);
  const progress = createProgress(ctx.io, { mode: ctx.values.progress, intervalMs: ctx.values["progress-interval"], label: "verify", unit: "bytes", total });
  const sources: Source[] = [];
  const chain: BackupManifest[] = [];
  let before = 0;
  try {
    for (const [i, path] of paths.entries()) {
      const r = new ByteReader(openFile(path).stream, path);
      const tick = setInterval(() => progress.update(before + r.consumed, 0), 200);
      // file number in this archive → the chain's source
      const byNumber = new Map<number, Source>();
      const fds = new Map<string, number>();
      try {
        const m = await readBackup(r, path, {
          agent: (k, entry) => {
            if (i === 0) {
              if (entry.files.length === 0) throw new CliError(`${path} is an incremental backup: a restore starts with a full one (then its incrementals, in order)`, 2);
              const dir = join(tmp, `${k}`);
              mkdirSync(dir);
              const s = { entry, dir, log: [] };
              sources.push(s);
              byNumber.set(k, s);
              return;
            }
            const s = sources.find((x) => x.entry.name === entry.name);
            if (!s) throw new CliError(`${path}: agent ${entry.name} is not in ${paths[0]}: give the backups of one cluster, full first`, 2);
            if (entry.files.length > 0) throw new CliError(`${path} is a full backup: give one full backup first, then only its incrementals`, 2);
            const at = s.entry.walSeq;
            if (entry.sinceWalSeq !== at || entry.history !== s.entry.history) {
              throw new CliError(`${path} does not follow ${paths[i - 1]} for agent ${entry.name} (its log starts at segment ${entry.sinceWalSeq}, the one before ends at ${at}): give the incrementals in order`, 2);
            }
            s.entry = { ...s.entry, walSeq: entry.walSeq, stored: entry.stored, logRecords: s.entry.logRecords + entry.logRecords };
            byNumber.set(k, s);
          },
          file: (k, name, offset, data) => {
            const s = byNumber.get(k)!;
            const key = `${k}/${name}`;
            let fd = fds.get(key);
            if (fd === undefined) {
              fd = openSync(join(s.dir, name), "w");
              fds.set(key, fd);
            }
            for (let at = 0; at < data.length; ) at += writeSync(fd, data, at, data.length - at, offset + at);
          },
          log: (k, records) => {
            const s = byNumber.get(k)!;
            for (const rec of records) s.log.push(rec);
          },
        });
        const prev = chain.at(-1);
        if (prev && m.base?.id !== prev.id) {
          throw new CliError(`${path} follows backup ${m.base?.id ?? "none"} (${m.base?.created ?? "?"}), not ${paths[i - 1]} (${prev.id}): give the incrementals in the order they were taken`, 2);
        }
        if (!prev && m.type !== "full") throw new CliError(`${path} is an incremental backup: a restore starts with a full one`, 2);
        if (prev && m.agents.length !== sources.length) throw new CliError(`${path} covers ${m.agents.length} agents, ${paths[0]} ${sources.length}: give the backups of one cluster`, 2);
        chain.push(m);
      } finally {
        clearInterval(tick);
        for (const fd of fds.values()) closeSync(fd);
      }
      before += statSync(path).size;
    }
  } finally {
    progress.update(before, 0);
    progress.stop();
  }
  return { sources, chain };
}

/** The snapshot opened with the agent's own engine, its log applied. */
async function openSnapshot(s: Source): Promise<Engine> {
  const e = s.entry;
  const ids = decodeIdFile(new Uint8Array(readFileSync(join(s.dir, s.entry.files[0]!.name))));
  const shape = { dimension: e.dimension, metric: e.metric as Metric, quantization: e.quantization as Quantization };
  await writeMeta(s.dir, { format: FORMAT_VERSION, ...shape, generations: [{ generation: ids.manifest.generation, walSeq: ids.manifest.walSeq }] });
  const engine = await createEngine(
    {
      name: `restore-${e.name}`,
      ips: [],
      ...shape,
      connectivity: e.connectivity,
      expansionAdd: Math.max(128, 4 * e.connectivity),
      expansionSearch: 64,
      simd: "auto",
      indexPath: s.dir,
      createIndexThreshold: 0,
      checkIndexIntervalMs: 0,
      saveIntervalMs: 0,
      indexThreads: 0,
      keepGenerations: 1,
    },
    { onBackgroundError: () => {} },
  );
  for (let at = 0; at < s.log.length; at += 4096) await engine.applyLog(s.log.slice(at, at + 4096));
  return engine;
}

/** The files to install: as backed up, or a new snapshot of the log applied to them. */
async function filesToInstall(s: Source): Promise<{ name: string; path: string }[]> {
  if (s.log.length === 0) return s.entry.files.map((f) => ({ name: f.name, path: join(s.dir, f.name) }));
  const engine = await openSnapshot(s);
  try {
    await engine.saveIndex();
  } finally {
    await engine.close();
  }
  const m = readMeta(s.dir);
  if (m.state !== "ok") throw new CliError(`the snapshot of ${s.entry.name} with its log applied could not be saved`);
  const g = m.meta.generations[0]!.generation;
  return [idName(g), indexName(g)].map((name) => ({ name, path: join(s.dir, name) }));
}

/** Why file install does not fit this cluster, or undefined when it does. */
function filesMismatch(sources: Source[], targets: SnapshotShape[]): string | undefined {
  if (targets.length !== sources.length) return `the backup has ${sources.length} agents, the cluster ${targets.length}`;
  const busy = targets.filter((t) => t.stored > 0n);
  if (busy.length > 0) return `agent ${busy.map((t) => t.name).join(", ")} is not empty`;
  for (const [i, t] of pairs(sources, targets)) {
    const e = sources[i]!.entry;
    if (t.dimension !== e.dimension || t.metric !== e.metric || t.quantization !== e.quantization) {
      return `agent ${t.name} runs ${t.dimension}/${t.metric}/${t.quantization}, the backup's ${e.name} holds ${e.dimension}/${e.metric}/${e.quantization}`;
    }
  }
  return undefined;
}

/** source index → target: by name when the names are the same, else in name order */
function pairs(sources: Source[], targets: SnapshotShape[]): [number, SnapshotShape][] {
  const byName = new Map(targets.map((t) => [t.name, t]));
  if (sources.every((s) => byName.has(s.entry.name))) return sources.map((s, i) => [i, byName.get(s.entry.name)!]);
  const order = sources.map((s, i) => [s.entry.name, i] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const sorted = [...targets].sort((a, b) => (a.name < b.name ? -1 : 1));
  return order.map(([, i], k) => [i, sorted[k]!]);
}

async function installAll(ctx: Ctx, sources: Source[], targets: SnapshotShape[]): Promise<number> {
  const s = ctx.session();
  const backup = s.client(Backup);
  const plan = await Promise.all(pairs(sources, targets).map(async ([i, t]) => ({ source: sources[i]!, target: t, files: await filesToInstall(sources[i]!) })));
  const total = plan.reduce((a, p) => a + p.files.reduce((b, f) => b + statSync(f.path).size, 0), 0);
  const progress = createProgress(ctx.io, { mode: ctx.values.progress, intervalMs: ctx.values["progress-interval"], label: "restore", unit: "bytes", total });
  let sent = 0;
  let stored = 0;
  try {
    for (const p of plan) {
      async function* parts(): AsyncGenerator<AgentInstallPart> {
        const buf = new Uint8Array(FILE_CHUNK);
        let first = true;
        for (const f of p.files) {
          const bytes = statSync(f.path).size;
          const crc = await crcOf(f.path);
          const fh = await open(f.path, "r");
          try {
            let at = 0;
            do {
              const { bytesRead } = await fh.read(buf, 0, FILE_CHUNK, at);
              yield { $typeName: "alvd.cluster.v1.AgentInstallPart", agent: first ? p.target.name : "", part: { $typeName: "alvd.cluster.v1.InstallPart", file: at === 0 ? { $typeName: "alvd.cluster.v1.SnapshotFile", name: f.name, bytes: BigInt(bytes), crc32: crc } : undefined, data: buf.slice(0, bytesRead) } };
              first = false;
              at += bytesRead;
              sent += bytesRead;
              progress.update(sent, 0);
              if (bytesRead === 0) break;
            } while (at < bytes);
          } finally {
            await fh.close();
          }
        }
      }
      const done = await backup.install(parts(), { signal: ctx.stop });
      stored += Number(done.stored);
      if (p.source.entry.name !== p.target.name) ctx.io.err(`alvd restore: ${p.source.entry.name}'s snapshot went to agent ${p.target.name}\n`);
    }
  } finally {
    progress.stop();
  }
  return stored;
}

async function crcOf(path: string): Promise<number> {
  const fh = await open(path, "r");
  try {
    const buf = new Uint8Array(FILE_CHUNK);
    let crc = 0;
    for (let at = 0; ; ) {
      const { bytesRead } = await fh.read(buf, 0, FILE_CHUNK, at);
      if (bytesRead === 0) return crc;
      crc = Bun.hash.crc32(buf.subarray(0, bytesRead), crc) >>> 0;
      at += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

const sameBits = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(Float32Array.from(a).buffer);
  const y = new Uint32Array(Float32Array.from(b).buffer);
  return x.every((w, i) => w === y[i]);
};

/** Every id once (the newest of its copies over the backup's agents), through Insert or, with --force, Upsert. */
async function importAll(ctx: Ctx, sources: Source[], force: boolean): Promise<number> {
  const engines: Engine[] = [];
  try {
    for (const s of sources) engines.push(await openSnapshot(s));
    const owner = new Map<string, { at: number; ts: bigint }>();
    for (const [i, e] of engines.entries()) {
      for (const [id, ts] of e.timestamps()) {
        const o = owner.get(id);
        if (!o || ts > o.ts) owner.set(id, { at: i, ts });
      }
    }
    const object = ctx.session().client(Object$);
    async function* items(): AsyncGenerator<WriteItem> {
      for (const [i, e] of engines.entries()) {
        for (const v of e.list()) {
          if (owner.get(v.id)?.at !== i) continue;
          yield { id: v.id, vector: v.vector, timestamp: v.timestamp, where: `agent ${sources[i]!.entry.name}` };
        }
      }
    }
    const o = await streamWrite(ctx, items(), {
      op: force ? "upsert" : "insert",
      force,
      label: "restore",
      total: owner.size,
      alreadyThere: async (item) => {
        try {
          const v = await object.getObject({ id: { id: item.id } });
          return v.timestamp === item.timestamp && sameBits(v.vector, item.vector);
        } catch {
          return false;
        }
      },
    });
    if (o.failed > 0 || o.stopped !== undefined || o.inputError !== undefined) {
      // what failed and how to go on; the summary line below is for a complete restore
      const code = await reportWrite(ctx, "restored", o, () => "run the same restore again (with --force once the cluster holds some): vectors already restored are skipped");
      throw new CliError("the restore by import did not finish", code);
    }
    return o.ok;
  } finally {
    for (const e of engines) await e.close().catch(() => undefined);
  }
}

export const restoreCommand: Command = async (ctx) => {
  const f = ctx.values;
  if (ctx.args.length === 0) throw new CliError("alvd restore takes the backup FILE, then its incrementals in order (see alvd restore --help)", 2);
  for (const p of ctx.args) {
    try {
      if (!statSync(p).isFile()) throw new Error("not a regular file");
    } catch (e) {
      throw new CliError(`cannot read ${p}: ${(e as Error).message}`, 2);
    }
  }
  const t0 = performance.now();
  const tmp = mkdtempSync(join(tmpdir(), "alvd-restore-"));
  try {
    const { sources, chain } = await unpack(ctx, ctx.args, tmp);
    const vectors = sources.reduce((a, s) => a + s.entry.stored, 0);
    if (f["dry-run"]) {
      const summary = { files: ctx.args, agents: sources.map((s) => s.entry.name), storedVectors: vectors, logRecords: sources.reduce((a, s) => a + s.log.length, 0), verified: true, created: chain.at(-1)!.created };
      if (f.json) await ctx.io.out.json(summary);
      else await ctx.io.out.line(`${ctx.args.join(" ")}: ${sources.length} agents, ${n(vectors)} vectors, ${n(summary.logRecords)} log records after the full backup; checksums verified (taken ${chain[0]!.created}${chain.length > 1 ? ` to ${chain.at(-1)!.created}` : ""})`);
      return 0;
    }
    const s = ctx.session();
    const targets = (await attempt(s.target, () => s.client(Backup).agents({}))).agents;
    if (targets.length === 0) throw new CliError(`${s.target.address} has no agent connected: start the cluster's agents first`);
    const held = targets.reduce((a, t) => a + Number(t.stored), 0);
    if (held > 0 && !f.force) {
      throw new CliError(`the cluster at ${s.target.address} holds ${n(held)} vectors: restore into an empty cluster, or add --force to upsert the backup's vectors over those with the same ids`);
    }
    const mismatch = filesMismatch(sources, targets);
    if (f.mode === "files" && mismatch) throw new CliError(`--mode files needs empty agents that match the backup's: ${mismatch}; use --mode import (or auto)`, 2);
    const mode = f.mode === "import" || mismatch ? "import" : "files";
    if (f.mode === "auto" && mismatch) ctx.io.err(`alvd restore: by import, not by files: ${mismatch}\n`);
    const restored = mode === "files" ? await installAll(ctx, sources, targets) : await importAll(ctx, sources, f.force);
    const seconds = (performance.now() - t0) / 1000;
    const how = mode === "files" ? "installed the snapshot files into empty agents" : "by import (Vald API inserts)";
    if (f.json) await ctx.io.out.json({ restored, mode, agents: targets.length, files: ctx.args.length, seconds: Number(seconds.toFixed(3)) });
    else await ctx.io.out.line(`restored ${n(restored)} vectors on ${targets.length} agent${targets.length === 1 ? "" : "s"} from ${ctx.args.length} backup file${ctx.args.length === 1 ? "" : "s"} in ${seconds.toFixed(1)} s: ${how}`);
    return 0;
  } catch (e) {
    if (ctx.stop.aborted) throw new CliError("interrupted: the restore did not finish; run it again (into an empty cluster, or with --force)");
    throw e instanceof CliError ? e : new CliError(describe(e, "", ctx.session().target));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
};
