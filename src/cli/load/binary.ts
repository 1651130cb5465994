// Binary vector files, all rows the same size, so --skip seeks instead of reading:
//  - .fvecs/.bvecs/.ivecs (TEXMEX, ann-benchmarks): per row an int32 LE dimension, then
//    that many float32 / uint8 / int32 values;
//  - .npy (NumPy 1.0–3.0): a header dict ('descr', 'fortran_order', 'shape'), then C-order
//    rows of float32, float16, float64, uint8 or int8;
//  - IDX (MNIST, Fashion-MNIST): a big-endian header (0, 0, type, number of dims, then
//    each dim), then rows of dims[1]×dims[2]… values.
// Any of them may be gzipped (detected by content; skipping then reads through).
import { CliError } from "../errors";
import { ByteReader, isGzip, openFile, peekFile } from "./bytes";
import type { RowSource } from "./rows";

/** How the rows of a file lie: where they start, their size, and how to decode one. */
interface Layout {
  dataOffset: number;
  dimension: number;
  rowBytes: number;
  /** rows in the file, when the header says */
  rows: number | undefined;
  decode(row: Uint8Array, index: number): Float32Array;
}

/** A copy at offset 0, so typed-array views over it are aligned. */
const aligned = (b: Uint8Array) => b.slice();

function vecsLayout(path: string, head: Uint8Array, elem: "f32" | "u8" | "i32"): Layout {
  if (head.length < 4) throw new CliError(`${path}: too short for a ${elem === "f32" ? "f" : elem === "u8" ? "b" : "i"}vecs file`, 2);
  const dimension = new DataView(head.buffer, head.byteOffset).getInt32(0, true);
  if (dimension < 1 || dimension > 65536) throw new CliError(`${path}: the first row says dimension ${dimension}: not a ${elem === "u8" ? "b" : elem === "f32" ? "f" : "i"}vecs file?`, 2);
  const size = elem === "u8" ? 1 : 4;
  return {
    dataOffset: 0,
    dimension,
    rowBytes: 4 + dimension * size,
    rows: undefined,
    decode(row, index) {
      const d = new DataView(row.buffer, row.byteOffset).getInt32(0, true);
      if (d !== dimension) throw new CliError(`${path}: row ${index} has dimension ${d}, the first row ${dimension}`);
      const body = aligned(row.subarray(4));
      if (elem === "f32") return new Float32Array(body.buffer);
      return Float32Array.from(elem === "u8" ? body : new Int32Array(body.buffer));
    },
  };
}

/** little-endian (or byte-sized) dtypes, without their "<", "=" or "|" */
const NPY_TYPES: Record<string, { size: number; view: (b: ArrayBuffer) => ArrayLike<number> }> = {
  f4: { size: 4, view: (b) => new Float32Array(b) },
  f2: { size: 2, view: (b) => new Float16Array(b) },
  f8: { size: 8, view: (b) => new Float64Array(b) },
  u1: { size: 1, view: (b) => new Uint8Array(b) },
  i1: { size: 1, view: (b) => new Int8Array(b) },
};

function npyLayout(path: string, head: Uint8Array): Layout {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (head.length < 12 || magic.some((m, i) => head[i] !== m)) throw new CliError(`${path}: not a .npy file (no \\x93NUMPY magic)`, 2);
  const major = head[6]!;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const [len, start] = major === 1 ? [view.getUint16(8, true), 10] : [view.getUint32(8, true), 12];
  if (start + len > head.length) throw new CliError(`${path}: .npy header longer than expected (${len} bytes)`, 2);
  const dict = new TextDecoder().decode(head.subarray(start, start + len));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(dict)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(dict)?.[1];
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(dict)?.[1]?.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  const type = descr === undefined ? undefined : NPY_TYPES[descr.replace(/^[<=|]/, "")];
  if (type === undefined) throw new CliError(`${path}: .npy dtype ${descr ?? "?"} is not supported (float32, float16, float64, uint8, int8 are)`, 2);
  if (fortran !== "False") throw new CliError(`${path}: .npy in Fortran order cannot be read row by row; save it with numpy.ascontiguousarray`, 2);
  if (shape === undefined || shape.length < 1 || shape.length > 2 || shape.some((n) => !Number.isInteger(n))) {
    throw new CliError(`${path}: .npy shape (${shape?.join(", ") ?? "?"}) is not (rows, dimension)`, 2);
  }
  const [rows, dimension] = shape.length === 2 ? [shape[0]!, shape[1]!] : [1, shape[0]!];
  return {
    dataOffset: start + len,
    dimension,
    rowBytes: dimension * type.size,
    rows,
    decode: (row) => Float32Array.from(type.view(aligned(row).buffer)),
  };
}

const IDX_TYPES: Record<number, { size: number; get: (v: DataView, at: number) => number }> = {
  0x08: { size: 1, get: (v, at) => v.getUint8(at) },
  0x09: { size: 1, get: (v, at) => v.getInt8(at) },
  0x0b: { size: 2, get: (v, at) => v.getInt16(at) },
  0x0c: { size: 4, get: (v, at) => v.getInt32(at) },
  0x0d: { size: 4, get: (v, at) => v.getFloat32(at) },
  0x0e: { size: 8, get: (v, at) => v.getFloat64(at) },
};

function idxLayout(path: string, head: Uint8Array): Layout {
  const type = IDX_TYPES[head[2] ?? -1];
  const dims = head[3] ?? 0;
  if (head.length < 4 + 4 * dims || head[0] !== 0 || head[1] !== 0 || type === undefined || dims < 1) {
    throw new CliError(`${path}: not an IDX file (expected magic 00 00 <type> <dims>)`, 2);
  }
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const shape = Array.from({ length: dims }, (_, i) => view.getUint32(4 + 4 * i));
  const dimension = shape.slice(1).reduce((a, b) => a * b, 1);
  return {
    dataOffset: 4 + 4 * dims,
    dimension,
    rowBytes: dimension * type.size,
    rows: shape[0],
    decode(row) {
      if (head[2] === 0x08) return Float32Array.from(row); // uint8 pixels (MNIST): no byte order to mind
      const v = new DataView(row.buffer, row.byteOffset, row.byteLength);
      const out = new Float32Array(dimension);
      for (let i = 0; i < dimension; i++) out[i] = type.get(v, i * type.size);
      return out;
    },
  };
}

export type BinaryFormat = "fvecs" | "bvecs" | "ivecs" | "npy" | "idx";

/** The header bytes of a file, inflated first when it is gzipped. */
async function headOf(path: string, n: number): Promise<Uint8Array> {
  const raw = peekFile(path, n);
  if (!isGzip(raw)) return raw;
  const reader = openFile(path).stream.getReader();
  const chunks: Uint8Array[] = [];
  for (let got = 0; got < n; ) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(value);
    got += value.length;
  }
  void reader.cancel().catch(() => {});
  return Buffer.concat(chunks).subarray(0, n);
}

export async function binaryRows(path: string, format: BinaryFormat, skip: number): Promise<RowSource> {
  const head = await headOf(path, format === "npy" ? 65536 + 12 : format === "idx" ? 4 + 4 * 255 : 4);
  const layout =
    format === "npy" ? npyLayout(path, head)
    : format === "idx" ? idxLayout(path, head)
    : vecsLayout(path, head, format === "fvecs" ? "f32" : format === "bvecs" ? "u8" : "i32");
  const start = layout.dataOffset + skip * layout.rowBytes;
  const opened = openFile(path, start);
  let rows = layout.rows;
  if (opened.seekable) {
    const body = opened.size - layout.dataOffset;
    if (body % layout.rowBytes !== 0) {
      throw new CliError(`${path}: ${body} bytes of rows is not a whole number of ${layout.rowBytes}-byte rows (truncated, or not ${format}?)`, 2);
    }
    if (rows !== undefined && rows * layout.rowBytes !== body) {
      throw new CliError(`${path}: the header says ${rows} rows, the file holds ${body / layout.rowBytes}`, 2);
    }
    rows = body / layout.rowBytes;
  }
  const reader = new ByteReader(opened.stream, path);
  if (!opened.seekable) await reader.skip(start);
  return {
    dimension: layout.dimension,
    total: rows === undefined ? undefined : Math.max(0, rows - skip),
    rows: (async function* () {
      try {
        for (let i = skip; rows === undefined || i < rows; i++) {
          const row = await reader.read(layout.rowBytes);
          if (row === undefined) {
            if (rows !== undefined) throw new CliError(`${path}: truncated: ${i} of ${rows} rows`);
            return;
          }
          yield { vector: layout.decode(row, i) };
        }
      } finally {
        reader.cancel();
      }
    })(),
  };
}
