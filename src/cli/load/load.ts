// alvd load FILE: a vector file into the cluster over one StreamInsert (or StreamUpsert)
// with a bounded window. It reports every failed row, exits 1 if any failed, and when it
// stops early says which --skip resumes it: every row before that point was answered.
import { extname } from "node:path";
import type { Command } from "../context";
import { CliError } from "../errors";
import { reportWrite, streamWrite, type WriteItem } from "../writes";
import { binaryRows, type BinaryFormat } from "./binary";
import { peekFile } from "./bytes";
import { withIds } from "./ids";
import type { RowSource } from "./rows";
import { csvRows, jsonlRows } from "./text";

type Format = BinaryFormat | "jsonl" | "csv" | "tsv";

const BY_EXTENSION: Record<string, Format> = {
  ".fvecs": "fvecs",
  ".bvecs": "bvecs",
  ".ivecs": "ivecs",
  ".npy": "npy",
  ".jsonl": "jsonl",
  ".ndjson": "jsonl",
  ".json": "jsonl",
  ".csv": "csv",
  ".tsv": "tsv",
  ".idx": "idx",
};

/** From the name, past a .gz: data.fvecs.gz → fvecs; MNIST's *-idx3-ubyte → idx. */
export function formatOf(path: string): Format | undefined {
  const name = path.replace(/\.gz$/i, "");
  return BY_EXTENSION[extname(name).toLowerCase()] ?? (/-idx\d-ubyte$|\.idx\d-ubyte$/i.test(name) ? "idx" : undefined);
}

function open(path: string, format: Format, skip: number, idColumn: string): Promise<RowSource> | RowSource {
  switch (format) {
    case "jsonl":
      return jsonlRows(path, skip, idColumn);
    case "csv":
      return csvRows(path, skip, ",", idColumn);
    case "tsv":
      return csvRows(path, skip, "\t", idColumn);
    default:
      if (idColumn !== "") throw new CliError(`--id-column is for CSV and JSON lines; ${format} rows have no ids (use --ids FILE)`, 2);
      return binaryRows(path, format, skip);
  }
}

export const load: Command = async (ctx) => {
  const f = ctx.values;
  if (ctx.args.length !== 1) throw new CliError(`alvd load takes one FILE${ctx.args.length > 1 ? ` (got ${ctx.args.length})` : ""} (see alvd load --help)`, 2);
  const path = ctx.args[0]!;
  const format = f.format === "auto" ? formatOf(path) : f.format;
  if (format === undefined) {
    throw new CliError(`${path}: cannot tell the format from the name; give --format (fvecs, bvecs, ivecs, npy, jsonl, csv, tsv, idx)`, 2);
  }
  if (f.ids !== "") peekFile(f.ids, 1); // a missing id file is a usage error, found before anything is sent
  const source = await open(path, format, f.skip, f["id-column"]);
  const total = source.total === undefined ? undefined : f.limit > 0 ? Math.min(f.limit, source.total) : source.total;
  async function* items(): AsyncGenerator<WriteItem> {
    for await (const r of withIds(source.rows, { skip: f.skip, limit: f.limit, idsFile: f.ids, prefix: f["id-prefix"] })) {
      yield { id: r.id, vector: r.vector, timestamp: undefined, where: `row ${r.row}` };
    }
  }
  const op = f.upsert ? "upsert" : "insert";
  const o = await streamWrite(ctx, items(), { op, label: "load", total });
  // rows are numbered in the whole file: what was answered ends at skip + answeredPrefix
  const resume = (prefix: number) =>
    `rows before ${(f.skip + prefix).toLocaleString("en-US")} were all answered: resume with --skip ${f.skip + prefix}${f.limit > 0 ? ` --limit ${f.limit - prefix}` : ""}`;
  return reportWrite(ctx, f.upsert ? "upserted" : "loaded", o, resume);
};
