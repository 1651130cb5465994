// alvd import FILE: the vectors of an export file back in over StreamInsert with each
// record's timestamp (Insert.Config.timestamp, which Vald's agents store too), so a
// round trip keeps id, vector and timestamp bit for bit. An id already stored with the
// very same vector and timestamp counts as imported, so a rerun after an interruption
// (or the duplicate copies a Vald gateway lists per replica) is harmless.
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { Object$ } from "../../gen/vald/v1/object_pb";
import type { Command, Ctx } from "../context";
import { CliError } from "../errors";
import { ByteReader, isGzip, openFile, peekFile } from "../load/bytes";
import { reportWrite, streamWrite, type WriteItem } from "../writes";
import { readExport, trailerCount, TRAILER_BYTES, type Reading } from "./format";

/** The trailer's record count of a plain file, for the progress bar (checked again at the end). */
function countOf(path: string): number | undefined {
  try {
    const size = statSync(path).size;
    if (size < TRAILER_BYTES || isGzip(peekFile(path, 2))) return undefined;
    const fd = openSync(path, "r");
    try {
      const tail = new Uint8Array(TRAILER_BYTES);
      readSync(fd, tail, 0, TRAILER_BYTES, size - TRAILER_BYTES);
      return trailerCount(tail);
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

const sameBits = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(Float32Array.from(a).buffer);
  const y = new Uint32Array(Float32Array.from(b).buffer);
  return x.every((w, i) => w === y[i]);
};

function source(ctx: Ctx, path: string): ByteReader {
  return new ByteReader(path === "-" ? ctx.io.stdin() : openFile(path).stream, path === "-" ? "stdin" : path);
}

export const importCommand: Command = async (ctx) => {
  if (ctx.args.length !== 1) throw new CliError("alvd import takes one FILE (- for stdin) (see alvd import --help)", 2);
  const path = ctx.args[0]!;
  const reading: Reading = { meta: undefined, records: 0, blocks: 0 };
  const records = readExport(source(ctx, path), path, reading);
  if (ctx.values["dry-run"]) {
    const dims = new Set<number>();
    for await (const r of records) dims.add(r.vector.length);
    const summary = { file: path, records: reading.records, blocks: reading.blocks, dimensions: [...dims].sort((a, b) => a - b), meta: reading.meta, verified: true };
    if (ctx.values.json) await ctx.io.out.json(summary);
    else await ctx.io.out.line(`${path}: ${reading.records.toLocaleString("en-US")} vectors in ${reading.blocks} blocks, checksums verified (from ${reading.meta?.source ?? "?"}, ${reading.meta?.created ?? "?"})`);
    return 0;
  }
  const object = ctx.session().client(Object$);
  async function* items(): AsyncGenerator<WriteItem> {
    let n = 0;
    for await (const r of records) yield { id: r.id, vector: r.vector, timestamp: r.timestamp, where: `record ${n++}` };
  }
  const o = await streamWrite(ctx, items(), {
    op: "insert",
    label: "import",
    total: path === "-" ? undefined : countOf(path),
    alreadyThere: async (item) => {
      try {
        const v = await object.getObject({ id: { id: item.id } });
        return v.timestamp === item.timestamp && sameBits(v.vector, item.vector);
      } catch {
        return false;
      }
    },
  });
  return reportWrite(ctx, "imported", o, () => "records already imported are skipped when the same import runs again");
};
