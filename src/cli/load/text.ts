// Text vector files, read line by line (gzip too):
//  - JSON lines: [numbers…] or {"id":…,"vector":[…]} (the id member is --id-column, default "id");
//  - CSV/TSV: one vector per row, numbers in every column but the id column; a first row
//    that is not all numbers is a header (then a column named "id" holds the ids unless
//    --id-column says otherwise). Fields may be double-quoted ("" inside for a quote).
import { CliError } from "../errors";
import { lines } from "../io";
import { parseVectorLine } from "../vectors";
import { openFile } from "./bytes";
import type { Row, RowSource } from "./rows";

/** One CSV/TSV record (no newlines inside fields). */
export function splitFields(line: string, sep: string): string[] {
  if (!line.includes('"')) return line.split(sep);
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = "";
    if (line[i] === '"') {
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) throw new Error("a quoted field is not closed");
        field += line.slice(i, q);
        i = q + 1;
        if (line[i] !== '"') break;
        field += '"';
        i++;
      }
      const next = line.indexOf(sep, i);
      i = next < 0 ? line.length + 1 : next + sep.length;
    } else {
      const next = line.indexOf(sep, i);
      field = line.slice(i, next < 0 ? undefined : next);
      i = next < 0 ? line.length + 1 : next + sep.length;
    }
    out.push(field);
    if (i > line.length) return out;
  }
}

const isNumber = (s: string) => s.trim() !== "" && Number.isFinite(Number(s));

async function* numbered(path: string): AsyncGenerator<[number, string]> {
  let n = 0;
  for await (const line of lines(openFile(path).stream)) {
    n++;
    if (line.trim() !== "") yield [n, line];
  }
}

export function jsonlRows(path: string, skip: number, idField: string): RowSource {
  return {
    dimension: undefined,
    total: undefined,
    rows: (async function* (): AsyncGenerator<Row> {
      let row = 0;
      for await (const [n, line] of numbered(path)) {
        if (row++ < skip) continue;
        try {
          const v = parseVectorLine(line, idField || "id");
          yield { vector: v.vector, id: v.id };
        } catch (e) {
          throw new CliError(`${path}:${n}: ${(e as Error).message}`);
        }
      }
    })(),
  };
}

export function csvRows(path: string, skip: number, sep: string, idColumn: string): RowSource {
  return {
    dimension: undefined,
    total: undefined,
    rows: (async function* (): AsyncGenerator<Row> {
      let idAt = -1;
      let row = 0;
      let first = true;
      for await (const [n, line] of numbered(path)) {
        let fields: string[];
        try {
          fields = splitFields(line, sep);
        } catch (e) {
          throw new CliError(`${path}:${n}: ${(e as Error).message}`);
        }
        if (first) {
          first = false;
          const byNumber = /^\d+$/.test(idColumn) ? Number(idColumn) - 1 : -1;
          const header = fields.some((f, i) => i !== byNumber && !isNumber(f));
          if (header) {
            idAt = byNumber >= 0 ? byNumber : fields.findIndex((f) => f.trim().toLowerCase() === (idColumn || "id").toLowerCase());
            if (idColumn !== "" && idAt < 0) throw new CliError(`${path}: no column "${idColumn}" in the header (${fields.join(", ")})`, 2);
            continue;
          }
          if (idColumn !== "" && byNumber < 0) throw new CliError(`${path}: --id-column ${idColumn} names a column, but the file has no header row`, 2);
          idAt = byNumber;
        }
        if (row++ < skip) continue;
        const vector: number[] = [];
        for (const [i, f] of fields.entries()) {
          if (i === idAt) continue;
          const x = Number(f);
          if (!isNumber(f)) throw new CliError(`${path}:${n}: column ${i + 1} is ${JSON.stringify(f)}, not a number`);
          vector.push(x);
        }
        yield { vector, id: idAt >= 0 ? fields[idAt] : undefined };
      }
    })(),
  };
}
