// What every format reader yields: rows in file order, each a vector and maybe an id
// read from the row itself (a CSV column, a JSON field).
export interface Row {
  vector: Float32Array | number[];
  id?: string;
}

export interface RowSource {
  /** when the header says (binary formats) */
  dimension: number | undefined;
  /** rows left after --skip, when known without reading the file through */
  total: number | undefined;
  rows: AsyncIterable<Row>;
}
