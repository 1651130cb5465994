// alvd load: every file format, written here from known vectors, loaded into a real
// server and read back with GetObject bit for bit; ids from the row number, a column,
// a JSON field or a sidecar file; --skip/--limit resume; failures named with exit 1;
// broken files refused with one line; and the first rows of Debian's Fashion-MNIST.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync, gunzipSync } from "node:zlib";
import { Index } from "../../src/gen/vald/v1/index_pb";
import { Object$ } from "../../src/gen/vald/v1/object_pb";
import { startServer, type ServerProc } from "../lib/cluster";
import { cli, f32Vectors, FASHION_MNIST, held, requireFashionMnist, sameBits } from "./lib";

setDefaultTimeout(90_000);

const D = 784;
const N = 30;
let server: ServerProc;
let dir: string;

beforeAll(async () => {
  requireFashionMnist();
  dir = mkdtempSync(join(tmpdir(), "alvd-load-"));
  server = await startServer({ dimension: D });
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const at = () => ["-h", "127.0.0.1", "-p", String(server.grpcPort)];

/** GetObject of each id equals the expected vector, bit for bit. */
async function expectStored(ids: string[], vectors: ArrayLike<number>[]): Promise<void> {
  const object = server.client(Object$);
  const got = await Promise.all(ids.map((id) => object.getObject({ id: { id } })));
  for (const [i, g] of got.entries()) {
    if (!sameBits(g.vector, vectors[i]!)) throw new Error(`${ids[i]}: stored vector differs from the file's row ${i}`);
  }
}

async function load(file: string, ...flags: string[]) {
  const r = await cli(["load", file, ...at(), ...flags]);
  return r;
}

function ints(n: number, dim: number, lo: number, hi: number, seed: number): number[][] {
  let s = seed;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0), s / 2 ** 32);
  return Array.from({ length: n }, () => Array.from({ length: dim }, () => lo + Math.floor(rnd() * (hi - lo + 1))));
}

/** .fvecs/.ivecs/.bvecs: per row an int32 LE dimension, then the values */
function vecsFile(rows: ArrayLike<number>[], kind: "f" | "i" | "b"): Uint8Array {
  const size = kind === "b" ? 1 : 4;
  const out = new Uint8Array(rows.length * (4 + rows[0]!.length * size));
  const v = new DataView(out.buffer);
  let at = 0;
  for (const r of rows) {
    v.setInt32(at, r.length, true);
    at += 4;
    for (let i = 0; i < r.length; i++, at += size) {
      if (kind === "f") v.setFloat32(at, r[i]!, true);
      else if (kind === "i") v.setInt32(at, r[i]!, true);
      else v.setUint8(at, r[i]!);
    }
  }
  return out;
}

/** .npy version 1.0, C order */
function npyFile(descr: string, shape: number[], data: ArrayBufferView): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, ...new TextEncoder().encode("NUMPY"), 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

const flat = (rows: ArrayLike<number>[]) => rows.flatMap((r) => Array.from(r));

describe("alvd load: each format, compared with GetObject", () => {
  const f32 = f32Vectors(N, D, 11);
  const ids = (prefix: string, n = N, from = 0) => Array.from({ length: n }, (_, i) => `${prefix}${from + i}`);

  const cases: { name: string; file: string; bytes: () => Uint8Array | string; expect: ArrayLike<number>[]; flags?: string[]; ids?: string[] }[] = [
    { name: "fvecs", file: "a.fvecs", bytes: () => vecsFile(f32, "f"), expect: f32 },
    { name: "fvecs.gz", file: "a.fvecs.gz", bytes: () => gzipSync(vecsFile(f32, "f")), expect: f32 },
    ...(() => {
      const b = ints(N, D, 0, 255, 3);
      const i = ints(N, D, -100_000, 100_000, 5);
      return [
        { name: "bvecs", file: "a.bvecs", bytes: () => vecsFile(b, "b"), expect: b },
        { name: "ivecs", file: "a.ivecs", bytes: () => vecsFile(i, "i"), expect: i },
      ];
    })(),
    { name: "npy float32", file: "f4.npy", bytes: () => npyFile("<f4", [N, D], Float32Array.from(flat(f32))), expect: f32 },
    ...(() => {
      const h = Float16Array.from(flat(f32));
      const rows = Array.from({ length: N }, (_, r) => Float32Array.from(h.subarray(r * D, (r + 1) * D)));
      const u = ints(N, D, 0, 255, 9);
      const d = f32.map((r) => Float64Array.from(r, (x) => x));
      return [
        { name: "npy float16", file: "f2.npy", bytes: () => npyFile("<f2", [N, D], h), expect: rows },
        { name: "npy uint8", file: "u1.npy", bytes: () => npyFile("|u1", [N, D], Uint8Array.from(flat(u))), expect: u },
        { name: "npy float64", file: "f8.npy", bytes: () => npyFile("<f8", [N, D], Float64Array.from(flat(d))), expect: f32 },
      ];
    })(),
    {
      name: "jsonl with ids",
      file: "a.jsonl",
      bytes: () => f32.map((v, i) => JSON.stringify({ id: `j-${i}`, vector: Array.from(v) })).join("\n") + "\n",
      expect: f32,
      ids: Array.from({ length: N }, (_, i) => `a.jsonl:j-${i}`),
    },
    { name: "jsonl arrays", file: "b.ndjson", bytes: () => f32.map((v) => JSON.stringify(Array.from(v))).join("\n"), expect: f32 },
    {
      name: "csv with a header and an id column",
      file: "a.csv",
      bytes: () => [["key", ...Array.from({ length: D }, (_, i) => `x${i}`)].join(","), ...f32.map((v, i) => [`"k,${i}"`, ...Array.from(v)].join(","))].join("\r\n"),
      expect: f32,
      flags: ["--id-column", "key"],
      ids: Array.from({ length: N }, (_, i) => `a.csv:k,${i}`),
    },
    { name: "csv numbers only", file: "b.csv", bytes: () => f32.map((v) => Array.from(v).join(",")).join("\n"), expect: f32 },
    { name: "tsv", file: "a.tsv", bytes: () => f32.map((v) => Array.from(v).join("\t")).join("\n"), expect: f32 },
    ...(() => {
      const b = ints(N, D, 0, 255, 13);
      const idx = new Uint8Array(16 + N * D);
      const v = new DataView(idx.buffer);
      v.setUint32(0, 0x00000803);
      v.setUint32(4, N);
      v.setUint32(8, 28);
      v.setUint32(12, 28);
      idx.set(flat(b), 16);
      return [{ name: "idx (uint8, gz)", file: "x-idx3-ubyte.gz", bytes: () => gzipSync(idx), expect: b }];
    })(),
  ];

  for (const c of cases) {
    test(c.name, async () => {
      const path = join(dir, c.file);
      writeFileSync(path, c.bytes());
      const prefix = `${c.file}:`;
      const r = await load(path, "--id-prefix", prefix, ...(c.flags ?? []));
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^loaded ${N} vectors in [\\d.]+ s \\([\\d,]+/s\\), 0 failed\\n$`));
      await expectStored(c.ids ?? ids(prefix), c.expect);
    });
  }

  test("--ids sidecar file; --limit then --skip resume with the same ids", async () => {
    const path = join(dir, "side.fvecs");
    writeFileSync(path, vecsFile(f32, "f"));
    const idFile = join(dir, "side.ids");
    writeFileSync(idFile, f32.map((_, i) => `side-${i * 7}`).join("\n") + "\n");
    const first = await load(path, "--ids", idFile, "--limit", "12");
    expect(first.code).toBe(0);
    expect(first.stdout).toStartWith("loaded 12 vectors");
    const rest = await load(path, "--ids", idFile, "--skip", "12", "--json");
    expect(rest.code).toBe(0);
    expect(JSON.parse(rest.stdout)).toMatchObject({ loaded: N - 12, failed: 0, complete: true });
    await expectStored(f32.map((_, i) => `side-${i * 7}`), f32);
    // row numbers stay those of the whole file after --skip
    const skipped = await load(path, "--skip", "25", "--id-prefix", "rows-");
    expect(skipped.code).toBe(0);
    await expectStored(ids("rows-", 5, 25), f32.slice(25));
    expect((await server.client(Object$).exists({ id: "rows-24" }).catch(() => "missing"))).toBe("missing");
  });

  test("rows the server refuses are named and counted; exit 1; --max-errors stops with a --skip to resume", async () => {
    const short = f32Vectors(8, D - 1, 21);
    const path = join(dir, "short.fvecs");
    writeFileSync(path, vecsFile(short, "f"));
    const r = await load(path, "--id-prefix", "short-");
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^loaded 0 vectors .*, 8 failed\n$/);
    expect(r.stderr.match(/^alvd load: row \d, id "short-\d": INVALID_ARGUMENT: /gm)).toHaveLength(8);

    const stop = await load(path, "--id-prefix", "short-", "--max-errors", "3", "--window", "1");
    expect(stop.code).toBe(1);
    expect(stop.stderr).toContain("stopped after 3 failed items (--max-errors 3); rows before 3 were all answered: resume with --skip 3");
  });

  test("broken or unknown files: one line, exit 2, nothing sent", async () => {
    const before = await held(server.client(Index));
    const cut = join(dir, "cut.fvecs");
    writeFileSync(cut, vecsFile(f32, "f").subarray(0, 4 + 4 * D + 100));
    const unknown = join(dir, "vectors.bin");
    writeFileSync(unknown, "x");
    const fortran = join(dir, "fortran.npy");
    writeFileSync(fortran, Buffer.from(Buffer.from(npyFile("<f4", [2, D], new Float32Array(2 * D))).toString("latin1").replace("False", "True "), "latin1"));
    const cases: [string[], RegExp][] = [
      [[cut], /cut\.fvecs: \d+ bytes of rows is not a whole number of 3140-byte rows/],
      [[unknown], /cannot tell the format from the name; give --format/],
      [[join(dir, "nope.fvecs")], /cannot read .*nope\.fvecs/],
      [[fortran], /Fortran order/],
      [[join(dir, "a.fvecs"), "--id-column", "2"], /--id-column is for CSV and JSON lines/],
    ];
    for (const [args, want] of cases) {
      const r = await cli(["load", ...args, ...at()]);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(want);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
    expect(await held(server.client(Index))).toBe(before);
  });
});


describe("alvd load: Fashion-MNIST (Debian dataset-fashion-mnist)", () => {
  test("the first 2,000 training images, as IDX straight from the package", async () => {
    const r = await load(FASHION_MNIST, "--limit", "2000", "--id-prefix", "fmnist-");
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith("loaded 2,000 vectors");
    // the IDX bytes, decoded independently: 16-byte header, then 28×28 uint8 pixels per image
    const raw = gunzipSync(readFileSync(FASHION_MNIST));
    const rows = [0, 1, 999, 1999];
    await expectStored(
      rows.map((i) => `fmnist-${i}`),
      rows.map((i) => Array.from(raw.subarray(16 + i * D, 16 + (i + 1) * D))),
    );
    expect((await server.client(Object$).exists({ id: "fmnist-2000" }).catch(() => "missing"))).toBe("missing");
  });
});
