// The alvd backup file: the export file's framing (format.ts: header, CRC-checked
// blocks, trailer with the whole-file SHA-256) with metadata kind "backup" and these
// blocks, all integers little-endian:
//
//   'A' agent     JSON: the agent's name, shape and consistent point (generation,
//                 wal_seq, since_wal_seq) and its files (name, bytes, CRC-32)
//   'F' file      u32 agent number | u16 name bytes | name | u64 offset | data (≤ 1 MiB)
//   'L' log       u32 agent number | records: u8 kind (1 put, 2 remove, 3 timestamp,
//                 4 flush) | u32 id bytes | id | i64 timestamp | u32 dimension D | D × f32
//   'M' manifest  JSON (BackupManifest), the last block: every agent again with the
//                 SHA-256 of each of its files
//
// A full backup holds each agent's snapshot files (its ids file, then its graph); an
// incremental one holds the log records since the backup it names as `base`.
import { CliError } from "../errors";
import type { ByteReader } from "../load/bytes";
import { FramedWriter, readFramed, type ExportMeta, type Reading } from "./format";

const AGENT = 0x41;
const FILE = 0x46;
const LOG = 0x4c;
const MANIFEST = 0x4d;
export const FILE_CHUNK = 1 << 20;
const LOG_BLOCK = 1 << 20;

export interface BackupFile {
  name: string;
  bytes: number;
  crc32: number;
  sha256?: string;
}

export interface AgentEntry {
  name: string;
  dimension: number;
  metric: string;
  quantization: string;
  connectivity: number;
  persistent: boolean;
  /** vectors the agent held when the backup began */
  stored: number;
  version: string;
  generation: number;
  /** log segments before it are in this backup; the next incremental starts there (-1: no log) */
  walSeq: number;
  sinceWalSeq: number;
  /** the agent's log history: an incremental backup continues only the same one */
  history: string;
  files: BackupFile[];
  logRecords: number;
}

export interface BackupManifest {
  format: 1;
  id: string;
  type: "full" | "incremental";
  created: string;
  tool: string;
  source: string;
  /** incremental: the backup it follows */
  base?: { id: string; created: string };
  agents: AgentEntry[];
}

export type LogEntry =
  | { kind: "put"; id: string; timestamp: bigint; vector: Float32Array }
  | { kind: "remove"; id: string }
  | { kind: "timestamp"; id: string; timestamp: bigint }
  | { kind: "flush" };

const KIND_BYTE = { put: 1, remove: 2, timestamp: 3, flush: 4 } as const;
const utf8 = new TextEncoder();
const u32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};

export function encodeLogEntry(r: LogEntry): Uint8Array {
  const id = r.kind === "flush" ? new Uint8Array(0) : utf8.encode(r.id);
  const dim = r.kind === "put" ? r.vector.length : 0;
  const b = new Uint8Array(1 + 4 + id.length + 8 + 4 + 4 * dim);
  const v = new DataView(b.buffer);
  b[0] = KIND_BYTE[r.kind];
  v.setUint32(1, id.length, true);
  b.set(id, 5);
  v.setBigInt64(5 + id.length, r.kind === "put" || r.kind === "timestamp" ? r.timestamp : 0n, true);
  v.setUint32(13 + id.length, dim, true);
  if (r.kind === "put") b.set(new Uint8Array(r.vector.buffer, r.vector.byteOffset, r.vector.byteLength), 17 + id.length);
  return b;
}

/** Builds a backup file's bytes; the caller writes each returned chunk in order. */
export class BackupWriter {
  private readonly w = new FramedWriter();
  private log: Uint8Array[] = [];
  private logBytes = 0;
  private logAgent = -1;

  get bytes(): number {
    return this.w.bytes;
  }

  header(meta: Omit<ExportMeta, "kind"> & { backup: { id: string; type: string; base?: string } }): Uint8Array {
    return this.w.header({ kind: "backup", ...meta });
  }

  agent(n: number, entry: AgentEntry): Uint8Array {
    return this.w.block(AGENT, 1, [u32(n), utf8.encode(JSON.stringify(entry))]);
  }

  file(n: number, name: string, offset: number, data: Uint8Array): Uint8Array {
    const nm = utf8.encode(name);
    const head = new Uint8Array(4 + 2 + nm.length + 8);
    const v = new DataView(head.buffer);
    v.setUint32(0, n, true);
    v.setUint16(4, nm.length, true);
    head.set(nm, 6);
    v.setBigUint64(6 + nm.length, BigInt(offset), true);
    return this.w.block(FILE, 1, [head, data]);
  }

  /** a finished log block when this record filled one (or the agent changed), else undefined */
  logEntry(n: number, r: LogEntry): Uint8Array | undefined {
    const out = n !== this.logAgent ? this.flushLog() : undefined;
    this.logAgent = n;
    const b = encodeLogEntry(r);
    this.log.push(b);
    this.logBytes += b.length;
    if (out) return out;
    return this.logBytes >= LOG_BLOCK ? this.flushLog() : undefined;
  }

  flushLog(): Uint8Array | undefined {
    if (this.log.length === 0) return undefined;
    const b = this.w.block(LOG, this.log.length, [u32(this.logAgent), ...this.log]);
    this.log = [];
    this.logBytes = 0;
    return b;
  }

  manifest(m: BackupManifest): Uint8Array {
    return this.w.block(MANIFEST, 1, [utf8.encode(JSON.stringify(m))]);
  }

  trailer(): Uint8Array {
    return this.w.trailer();
  }
}

export interface BackupEvents {
  agent(n: number, entry: AgentEntry): void | Promise<void>;
  file(n: number, name: string, offset: number, data: Uint8Array): void | Promise<void>;
  log(n: number, records: LogEntry[]): void | Promise<void>;
}

/**
 * Reads a backup file front to back, handing its pieces to `on` as each block checks
 * out, and returns its manifest once the whole file did (trailer, SHA-256, every file's
 * size, CRC-32 and SHA-256, the log counts). Throws a CliError naming the file.
 */
export async function readBackup(r: ByteReader, name: string, on: BackupEvents): Promise<BackupManifest> {
  const bad = (why: string) => new CliError(`${name}: ${why}`);
  const reading: Reading = { meta: undefined, records: 0, blocks: 0 };
  const text = new TextDecoder("utf-8", { fatal: true });
  const check = (m: ExportMeta) => (m.kind === "backup" ? undefined : "this is an alvd export, not a backup: bring it back with alvd import");
  const agents = new Map<number, AgentEntry>();
  const files = new Map<string, { got: number; crc: number; sha: Bun.CryptoHasher }>();
  const logs = new Map<number, number>();
  let manifest: BackupManifest | undefined;
  for await (const b of readFramed(r, name, reading, { noun: "backup", tags: [AGENT, FILE, LOG, MANIFEST], check })) {
    const p = b.payload;
    const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
    if (manifest) throw bad(`block ${b.number} follows the manifest`);
    try {
      if (b.tag === AGENT) {
        const n = v.getUint32(0, true);
        const entry = JSON.parse(text.decode(p.subarray(4))) as AgentEntry;
        if (agents.has(n)) throw new Error(`agent ${n} twice`);
        agents.set(n, entry);
        await on.agent(n, entry);
      } else if (b.tag === FILE) {
        const n = v.getUint32(0, true);
        const len = v.getUint16(4, true);
        const fname = text.decode(p.subarray(6, 6 + len));
        const offset = Number(v.getBigUint64(6 + len, true));
        const data = p.subarray(14 + len);
        const entry = agents.get(n);
        if (!entry?.files.some((f) => f.name === fname)) throw new Error(`a chunk of ${fname}, which agent ${n} does not list`);
        const key = `${n}/${fname}`;
        const f = files.get(key) ?? { got: 0, crc: 0, sha: new Bun.CryptoHasher("sha256") };
        files.set(key, f);
        if (offset !== f.got) throw new Error(`${fname} continues at ${offset}, expected ${f.got}`);
        f.got += data.length;
        f.crc = Bun.hash.crc32(data, f.crc) >>> 0;
        f.sha.update(data);
        await on.file(n, fname, offset, data);
      } else if (b.tag === LOG) {
        const n = v.getUint32(0, true);
        if (!agents.has(n)) throw new Error(`log records of agent ${n} before its description`);
        const out: LogEntry[] = [];
        let at = 4;
        for (let i = 0; i < b.count; i++) {
          const kind = p[at]!;
          const idLen = v.getUint32(at + 1, true);
          const id = text.decode(p.subarray(at + 5, at + 5 + idLen));
          at += 5 + idLen;
          const timestamp = v.getBigInt64(at, true);
          const dim = v.getUint32(at + 8, true);
          at += 12;
          if (at + 4 * dim > p.length) throw new RangeError("record past the block's end");
          if (kind === 1) out.push({ kind: "put", id, timestamp, vector: new Float32Array(new Uint8Array(p.subarray(at, at + 4 * dim)).buffer) });
          else if (kind === 2) out.push({ kind: "remove", id });
          else if (kind === 3) out.push({ kind: "timestamp", id, timestamp });
          else if (kind === 4) out.push({ kind: "flush" });
          else throw new Error(`unknown log record kind ${kind}`);
          at += 4 * dim;
        }
        if (at !== p.length) throw new Error(`bytes after its ${b.count} records`);
        logs.set(n, (logs.get(n) ?? 0) + out.length);
        await on.log(n, out);
      } else {
        manifest = JSON.parse(text.decode(p)) as BackupManifest;
      }
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw bad(`block ${b.number} does not parse (${(e as Error).message})`);
    }
  }
  if (!manifest) throw bad("no manifest before the trailer (a backup that did not finish?)");
  if (manifest.format !== 1) throw bad(`backup manifest format ${manifest.format} is newer than this alvd reads (1): use a newer alvd`);
  if (manifest.agents.length !== agents.size) throw bad(`the manifest lists ${manifest.agents.length} agents, the file describes ${agents.size}`);
  for (const [n, entry] of manifest.agents.entries()) {
    if (agents.get(n)?.name !== entry.name) throw bad(`agent ${n} is ${entry.name} in the manifest but ${agents.get(n)?.name ?? "missing"} in the file`);
    for (const f of entry.files) {
      const got = files.get(`${n}/${f.name}`);
      const sha = got ? Buffer.from(got.sha.digest() as Uint8Array).toString("hex") : "";
      if (!got || got.got !== f.bytes || got.crc !== f.crc32 || sha !== f.sha256) {
        throw bad(`${entry.name}'s ${f.name} does not match the manifest (${got?.got ?? 0} of ${f.bytes} bytes${got && got.got === f.bytes ? ", checksum differs" : ""})`);
      }
    }
    if ((logs.get(n) ?? 0) !== entry.logRecords) throw bad(`${entry.name}: ${logs.get(n) ?? 0} log records, the manifest says ${entry.logRecords}`);
  }
  return manifest;
}
