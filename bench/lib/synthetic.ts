// Deterministic clustered synthetic vectors for the scale benchmark: a Gaussian mixture
// of a few hundred centres with unequal weights and spreads. The within-cluster spread
// falls gently with the dimension index, (1 + j)^-0.1: a steeper fall (like real
// embeddings' PCA spectra) made the set so easy that recall@10 was 1.000 at ef 32 and
// the curve showed nothing; this one gives ~0.99 at ef 64 on 50k rows, and harder with N.
//
// Every row is generated from its own seed (hash of the mixture seed, the stream and the
// row number), so any range of rows can be produced on its own, in any chunking, and is
// the same bytes every time: the base set never has to be held whole, and the queries
// come from another stream of the same distribution (never rows of the base set).
import { createHash } from "node:crypto";

export interface MixtureSpec {
  dimension: number;
  centres: number;
  seed: number;
}

/** base rows and query rows never share a seed */
export type Stream = "base" | "query";

/** splitmix32-style finaliser: a well-mixed 32-bit value from any 32-bit input */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** mulberry32: small, fast, good enough for benchmark data; uniform in [0, 1) */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** fills `out` with standard normals (Box–Muller, both outputs used) */
function normals(rand: () => number, out: Float64Array): void {
  for (let i = 0; i < out.length; i += 2) {
    const u = 1 - rand(); // (0, 1]: log stays finite
    const r = Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * rand();
    out[i] = r * Math.cos(a);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(a);
  }
}

export class Mixture {
  readonly spec: MixtureSpec;
  readonly #centres: Float32Array;
  readonly #spread: Float64Array;
  /** cumulative cluster weights, last = 1 */
  readonly #cdf: Float64Array;
  /** per-dimension scale of the within-cluster noise */
  readonly #dimScale: Float64Array;
  readonly #z: Float64Array;

  constructor(spec: MixtureSpec) {
    if (!Number.isSafeInteger(spec.dimension) || spec.dimension < 1) throw new RangeError(`dimension must be a positive integer, got ${spec.dimension}`);
    if (!Number.isSafeInteger(spec.centres) || spec.centres < 1) throw new RangeError(`centres must be a positive integer, got ${spec.centres}`);
    this.spec = { ...spec };
    const d = spec.dimension;
    const rand = prng(mix32(spec.seed ^ 0x9e3779b9));
    const z = new Float64Array(d);
    this.#centres = new Float32Array(spec.centres * d);
    this.#spread = new Float64Array(spec.centres);
    this.#cdf = new Float64Array(spec.centres);
    let total = 0;
    for (let c = 0; c < spec.centres; c++) {
      normals(rand, z);
      // centres ~ N(0, 0.6²) per dimension: neighbouring clusters overlap at their edges
      for (let j = 0; j < d; j++) this.#centres[c * d + j] = 0.6 * z[j]!;
      this.#spread[c] = 0.4 + 0.6 * rand();
      total += 1 + 3 * rand(); // weights 1..4: some clusters are up to 4× as dense
      this.#cdf[c] = total;
    }
    for (let c = 0; c < spec.centres; c++) this.#cdf[c]! /= total;
    this.#cdf[spec.centres - 1] = 1;
    this.#dimScale = Float64Array.from({ length: d }, (_, j) => (1 + j) ** -0.1);
    this.#z = new Float64Array(d);
  }

  /** writes row `i` of `stream` into out[at .. at + dimension) */
  #row(stream: Stream, i: number, out: Float32Array, at: number): void {
    const d = this.spec.dimension;
    const salt = stream === "base" ? 0x5bd1e995 : 0x27d4eb2f;
    // two mixing rounds: row numbers up to 2^53 and the seed all reach the state
    const rand = prng(mix32(mix32(this.spec.seed ^ salt) ^ (i >>> 0)) ^ mix32(Math.floor(i / 4294967296) + 1));
    const u = rand();
    let lo = 0;
    let hi = this.spec.centres - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    const c = lo;
    const s = this.#spread[c]!;
    normals(rand, this.#z);
    for (let j = 0; j < d; j++) out[at + j] = this.#centres[c * d + j]! + s * this.#dimScale[j]! * this.#z[j]!;
  }

  /** rows [from, from + count) of `stream`, row-major, in `into` when given (no allocation) */
  rows(stream: Stream, from: number, count: number, into?: Float32Array): Float32Array {
    const d = this.spec.dimension;
    const out = into ? into.subarray(0, count * d) : new Float32Array(count * d);
    if (out.length !== count * d) throw new RangeError(`rows: a buffer of ${into!.length} floats cannot hold ${count} rows of ${d}`);
    for (let r = 0; r < count; r++) this.#row(stream, from + r, out, r * d);
    return out;
  }

  /** a short stable name for cache files: changes when the spec or the generator does */
  get id(): string {
    const h = createHash("sha256").update(JSON.stringify({ v: 1, ...this.spec })).update(new Uint8Array(this.rows("base", 0, 4).buffer)).digest("hex");
    return `mix-d${this.spec.dimension}-c${this.spec.centres}-s${this.spec.seed}-${h.slice(0, 8)}`;
  }
}
