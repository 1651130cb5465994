// Where a loaded row's id comes from: a sidecar file (one id a line, in row order), else
// the row itself (CSV column, JSON field), else its row number, counted from 0 in the
// whole file so a resumed load (--skip) gives every row the id it had the first time.
import { CliError } from "../errors";
import { lines } from "../io";
import { openFile } from "./bytes";
import type { Row } from "./rows";

export interface IdRow {
  /** 0-based row number in the file */
  row: number;
  id: string;
  vector: Float32Array | number[];
}

export async function* withIds(rows: AsyncIterable<Row>, opts: { skip: number; limit: number; idsFile: string; prefix: string }): AsyncGenerator<IdRow> {
  const side = opts.idsFile === "" ? undefined : lines(openFile(opts.idsFile).stream)[Symbol.asyncIterator]();
  for (let i = 0; i < opts.skip && side; i++) {
    if ((await side.next()).done) throw new CliError(`${opts.idsFile}: fewer ids (${i}) than --skip ${opts.skip}`);
  }
  let row = opts.skip;
  try {
    for await (const r of rows) {
      if (opts.limit > 0 && row - opts.skip >= opts.limit) return;
      let id = r.id;
      if (side) {
        const next = await side.next();
        if (next.done) throw new CliError(`${opts.idsFile}: ran out of ids at row ${row}: it needs one id a line for every row`);
        id = next.value.trim();
        if (id === "") throw new CliError(`${opts.idsFile}:${row + 1}: empty id`);
      }
      yield { row, id: opts.prefix + (id ?? String(row)), vector: r.vector };
      row++;
    }
  } finally {
    await side?.return?.(undefined);
  }
}
