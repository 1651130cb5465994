// alvd.cluster.v1.Snapshot: the agent's side of `alvd backup` and `alvd restore`. A
// checkpoint (engine.checkpoint) is kept under a random id while a client reads its
// files and log; one not touched for hold_ms is released without keeping the log, so a
// backup that died leaves nothing pinned. Install takes a snapshot's two files, checks
// each against the size and CRC-32 announced with it, and hands them to engine.adopt.
import { randomUUID } from "node:crypto";
import { open, unlink } from "node:fs/promises";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  CheckpointSchema,
  EndResponseSchema,
  FileChunkSchema,
  InstalledSchema,
  LogBatchSchema,
  LogRecord_Kind,
  LogRecordSchema,
  SnapshotShapeSchema,
  type Snapshot,
  type SnapshotShape,
} from "../../gen/alvd/cluster/v1/backup_pb";
import { version } from "../../version";
import type { EngineCheckpoint } from "../engine/checkpoint";
import { crc32, type WalRecord } from "../engine/wal-record";
import { unary, type HandlerEnv } from "./env";
import { invalidArgument } from "./errors";

const DEFAULT_HOLD_MS = 10 * 60_000;
const MAX_HOLD_MS = 24 * 3600_000;
const CHUNK = 1 << 20;
const IDS_FILE = /^ids-\d+\.bin$/;
const GRAPH_FILE = /^index-\d+\.usearch$/;

const KIND = { put: LogRecord_Kind.PUT, remove: LogRecord_Kind.REMOVE, timestamp: LogRecord_Kind.TIMESTAMP, flush: LogRecord_Kind.FLUSH } as const;

function logRecord(r: WalRecord) {
  switch (r.kind) {
    case "put":
      return create(LogRecordSchema, { kind: KIND.put, id: r.id, timestamp: r.timestamp, vector: new Uint8Array(r.vector.buffer, r.vector.byteOffset, r.vector.byteLength) });
    case "remove":
      return create(LogRecordSchema, { kind: KIND.remove, id: r.id });
    case "timestamp":
      return create(LogRecordSchema, { kind: KIND.timestamp, id: r.id, timestamp: r.timestamp });
    case "flush":
      return create(LogRecordSchema, { kind: KIND.flush });
  }
}

interface Held {
  checkpoint: EngineCheckpoint;
  timer: ReturnType<typeof setTimeout>;
  holdMs: number;
}

export function snapshotService(env: HandlerEnv): ServiceImpl<typeof Snapshot> {
  const { engine, log } = env;
  const held = new Map<string, Held>();
  const shape = (): SnapshotShape => {
    const o = engine.options;
    return create(SnapshotShapeSchema, {
      name: o.name,
      dimension: o.dimension,
      metric: o.metric,
      quantization: o.quantization,
      connectivity: o.connectivity,
      persistent: o.indexPath !== undefined,
      stored: BigInt(engine.counts().stored),
      version,
      keptWalSeq: BigInt(engine.keptLogFrom() ?? -1),
    });
  };
  const end = async (id: string, keepLog: boolean) => {
    const h = held.get(id);
    if (!h) return false;
    held.delete(id);
    clearTimeout(h.timer);
    await h.checkpoint.release(keepLog);
    return true;
  };
  const touch = (id: string): Held => {
    const h = held.get(id);
    if (!h) throw new ConnectError(`backup ${JSON.stringify(id)} is not held by agent ${engine.options.name} (it ended, or sat unused past its hold time): start the backup again`, Code.NotFound);
    clearTimeout(h.timer);
    h.timer = expire(id, h.holdMs);
    return h;
  };
  const expire = (id: string, ms: number) => {
    const t = setTimeout(() => {
      log.warn("backup checkpoint released unused: its client went away", { backup: id });
      void end(id, false).catch(() => undefined);
    }, ms);
    t.unref();
    return t;
  };

  return {
    describe: (_req, ctx) => unary(env, ctx, shape),

    begin: (req, ctx) =>
      unary(env, ctx, async () => {
        const holdMs = req.holdMs === 0 ? DEFAULT_HOLD_MS : req.holdMs;
        if (holdMs > MAX_HOLD_MS) throw invalidArgument(`hold_ms is at most ${MAX_HOLD_MS}`, [{ field: "hold_ms", description: `1..${MAX_HOLD_MS}` }]);
        const since = req.incremental ? Number(req.sinceWalSeq) : undefined;
        const checkpoint = await engine.checkpoint({ sinceWalSeq: since, history: req.history });
        const id = randomUUID();
        held.set(id, { checkpoint, timer: expire(id, holdMs), holdMs });
        const c = checkpoint;
        log.info(req.incremental ? "backup: log since the previous backup held" : "backup: snapshot held", {
          backup: id,
          generation: c.generation,
          walSeq: c.walSeq,
          ...(req.incremental ? { since: c.sinceWalSeq, records: c.logRecords } : { bytes: c.files.reduce((a, f) => a + f.bytes, 0) }),
        });
        return create(CheckpointSchema, {
          backupId: id,
          shape: shape(),
          generation: BigInt(c.generation),
          walSeq: BigInt(c.walSeq),
          sinceWalSeq: BigInt(c.sinceWalSeq),
          files: c.files.map((f) => ({ name: f.name, bytes: BigInt(f.bytes), crc32: f.crc32 })),
          logRecords: BigInt(c.logRecords),
          history: c.history,
        });
      }),

    async *readFile(req) {
      const h = touch(req.backupId);
      const file = h.checkpoint.files.find((f) => f.name === req.name);
      if (!file) throw invalidArgument(`${JSON.stringify(req.name)} is not a file of this backup`, [{ field: "name", description: h.checkpoint.files.map((f) => f.name).join(", ") }]);
      const fh = await open(`${h.checkpoint.dir}/${file.name}`, "r");
      try {
        const buf = new Uint8Array(CHUNK);
        for (let at = Number(req.offset); at < file.bytes; ) {
          const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, file.bytes - at), at);
          if (bytesRead === 0) throw new ConnectError(`${file.name} ended at ${at} of ${file.bytes} bytes`, Code.DataLoss);
          yield create(FileChunkSchema, { offset: BigInt(at), data: buf.slice(0, bytesRead) });
          at += bytesRead;
          touch(req.backupId);
        }
      } finally {
        await fh.close();
      }
    },

    async *readLog(req) {
      const h = touch(req.backupId);
      for await (const batch of h.checkpoint.readLog()) {
        yield create(LogBatchSchema, { records: batch.map(logRecord) });
        touch(req.backupId);
      }
    },

    end: (req, ctx) =>
      unary(env, ctx, async () => {
        if (await end(req.backupId, req.keepLog)) log.info("backup: ended", { backup: req.backupId, keptLog: req.keepLog });
        return create(EndResponseSchema, {});
      }),

    async install(parts, ctx) {
      let ids: Uint8Array[] | undefined;
      let idsName = "";
      let graphTemp: string | undefined;
      let graph: Awaited<ReturnType<typeof open>> | undefined;
      let current: { name: string; bytes: number; crc32: number; got: number; sum: number; into: "ids" | "graph" } | undefined;
      const finish = () => {
        if (!current) return;
        if (current.got !== current.bytes || current.sum !== current.crc32) {
          throw new ConnectError(`${current.name} arrived with ${current.got} of ${current.bytes} bytes${current.got === current.bytes ? " and a different CRC-32" : ""}`, Code.DataLoss);
        }
        current = undefined;
      };
      try {
        for await (const part of parts) {
          if (part.file) {
            finish();
            const f = part.file;
            const into = IDS_FILE.test(f.name) ? "ids" : GRAPH_FILE.test(f.name) ? "graph" : undefined;
            if (!into) throw invalidArgument(`${JSON.stringify(f.name)} is not a snapshot file (ids-N.bin or index-N.usearch)`, [{ field: "file.name", description: "ids-N.bin or index-N.usearch" }]);
            if ((into === "ids" && ids) || (into === "graph" && graphTemp)) throw invalidArgument(`a second ${into} file (${f.name})`, [{ field: "file.name", description: "one of each" }]);
            current = { name: f.name, bytes: Number(f.bytes), crc32: f.crc32, got: 0, sum: 0, into };
            if (into === "ids") {
              ids = [];
              idsName = f.name;
            } else {
              graphTemp = engine.stagingPath(f.name);
              graph = await open(graphTemp, "w");
            }
          }
          if (part.data.length === 0) continue;
          if (!current) throw invalidArgument("data before any file was named", [{ field: "file", description: "set on a file's first part" }]);
          current.got += part.data.length;
          if (current.got > current.bytes) throw new ConnectError(`${current.name} is longer than the ${current.bytes} bytes announced`, Code.DataLoss);
          current.sum = crc32(part.data, current.sum);
          if (current.into === "ids") ids!.push(part.data);
          else await graph!.write(part.data);
        }
        finish();
        if (!ids || !graphTemp) throw invalidArgument("a snapshot needs its ids file and its graph", [{ field: "file", description: "ids-N.bin and index-N.usearch" }]);
        await graph!.close();
        graph = undefined;
        const t0 = performance.now();
        const temp = graphTemp;
        graphTemp = undefined; // adopt consumes it
        const done = await unary(env, ctx, () => engine.adopt(temp, new Uint8Array(Buffer.concat(ids!))));
        log.info("restore: snapshot installed", { from: idsName, generation: done.generation, stored: done.stored, ms: Math.round(performance.now() - t0) });
        return create(InstalledSchema, { stored: BigInt(done.stored), generation: BigInt(done.generation) });
      } finally {
        await graph?.close().catch(() => undefined);
        if (graphTemp) await unlink(graphTemp).catch(() => undefined);
      }
    },
  };
}
