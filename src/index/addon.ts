// Loads our own usearch addon (native/alvd_index.cc) and wraps it as an AnnIndex.
// The two flavours are required by static string paths so `bun build --compile`
// embeds both; which one runs is decided at start-up (SimdMode).

import { availableParallelism } from "node:os";
import { requireAddon } from "./addon-require";
import { SearchBatcher, type BatchHits } from "./search-batcher";
import type { AnnIndex, GraphRepair, IndexOptions, Metric, Quantization, SearchHits, SimdMode } from "./types.ts";

export type Flavour = "simd" | "plain";

/** What the native module exports (see Init in native/alvd_index.cc). */
interface NativeModule {
  NativeIndex: new (
    dimensions: number,
    metric: Metric,
    quantization: Quantization,
    connectivity: number,
    expansionAdd: number,
    expansionSearch: number,
  ) => NativeIndex;
  flavour: Flavour;
  /** ISA families the CPU offers and the build can use, e.g. "serial, haswell, skylake" */
  hardwareAcceleration: string;
  /** ISA families compiled into the build */
  hardwareCompiled: string;
}

interface NativeIndex {
  size(): number;
  capacity(): number;
  contains(key: number): boolean;
  get(key: number): Float32Array | undefined;
  /** resolves to how many unreachable vectors it linked again (stranded() tells the rest) */
  addAsync(keys: Float64Array, vectors: Float32Array, threads: number, repair: boolean): Promise<number>;
  remove(key: number): boolean;
  search(query: Float32Array, k: number, expansion?: number): SearchHits;
  searchBatchAsync(queries: Float32Array, ks: Uint32Array, efs: Uint32Array): Promise<BatchHits>;
  exactSearch(query: Float32Array, k: number): SearchHits;
  saveAsync(path: string): Promise<void>;
  /** returns how many unreachable vectors it linked again */
  load(path: string): number;
  memoryUsage(): number;
  stranded(): number;
  clear(): void;
  isa(): string;
}

export interface AddonInfo {
  flavour: Flavour;
  hardwareAcceleration: string;
  hardwareCompiled: string;
}


// The native-module cache: a loaded .node file cannot be unloaded anyway.
const loaded = new Map<Flavour, NativeModule>();

function loadError(flavour: Flavour, cause: unknown): Error {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new Error(
    `cannot load the ${flavour} index addon (native/build/${flavour}/alvd_index.node): ${reason}\n` +
      "  - from a source checkout: build it with `bun run build:native` (needs g++/gcc: apt-get install -y g++)\n" +
      "  - from the compiled alvd binary: the addon is extracted to $TMPDIR before loading; if /tmp is read-only\n" +
      "    or mounted noexec, set BUN_TMPDIR to a writable directory that allows executables",
    { cause },
  );
}

/** Loads (once) the addon flavour for `simd`: the SIMD build unless plain is forced. */
export function loadAddon(simd: SimdMode): AddonInfo {
  const mod = moduleFor(simd);
  return { flavour: mod.flavour, hardwareAcceleration: mod.hardwareAcceleration, hardwareCompiled: mod.hardwareCompiled };
}

function moduleFor(simd: SimdMode): NativeModule {
  // The SIMD build dispatches kernels at run time from CPUID and falls back to its own
  // serial kernels, so it runs on any x86-64/arm64 CPU; `plain` exists to force the
  // portable code (debugging, benchmarking, distrust of a CPU's vector units).
  const flavour: Flavour = simd === "plain" ? "plain" : "simd";
  let mod = loaded.get(flavour);
  if (!mod) {
    try {
      mod = requireAddon(flavour) as NativeModule;
    } catch (e) {
      throw loadError(flavour, e);
    }
    loaded.set(flavour, mod);
  }
  return mod;
}

function checkOptions(o: IndexOptions): void {
  const positiveInt = (name: string, v: number, min: number) => {
    if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`index option ${name} must be an integer >= ${min}, got ${v}`);
  };
  positiveInt("dimensions", o.dimensions, 1);
  positiveInt("connectivity", o.connectivity, 2);
  positiveInt("expansionAdd", o.expansionAdd, 1);
  positiveInt("expansionSearch", o.expansionSearch, 1);
  if (!["l2sq", "cos", "ip"].includes(o.metric)) throw new RangeError(`unknown metric ${o.metric}`);
  if (!["f32", "f16", "i8"].includes(o.quantization)) throw new RangeError(`unknown quantization ${o.quantization}`);
}

/**
 * The addon names the errno of a failed save in its message ("(errno ENOSPC: …)");
 * carried over as err.code, the caller can say "the disk is full" like for fs errors.
 */
function withErrno(err: unknown, path: string): unknown {
  const m = err instanceof Error ? /\(errno (E[A-Z]+): /.exec(err.message) : null;
  if (!m) return err;
  return Object.assign(err as Error, { code: m[1], syscall: "write", path });
}

class NativeAnnIndex implements AnnIndex {
  readonly options: IndexOptions;
  readonly isa: string;
  readonly #native: NativeIndex;
  readonly #batcher: SearchBatcher;

  constructor(options: IndexOptions, mod: NativeModule) {
    checkOptions(options);
    this.options = Object.freeze({ ...options });
    this.#native = new mod.NativeIndex(
      options.dimensions,
      options.metric,
      options.quantization,
      options.connectivity,
      options.expansionAdd,
      options.expansionSearch,
    );
    this.isa = this.#native.isa();
    const native = this.#native;
    this.#batcher = new SearchBatcher((q, ks, efs) => native.searchBatchAsync(q, ks, efs), options.dimensions, availableParallelism());
  }

  size(): number {
    return this.#native.size();
  }
  contains(key: number): boolean {
    return this.#native.contains(key);
  }
  get(key: number): Float32Array | undefined {
    return this.#native.get(key);
  }
  // not async: bad arguments throw here, before anything is queued
  addAsync(keys: Float64Array, vectors: Float32Array, threads: number, repair = true): Promise<GraphRepair> {
    const native = this.#native;
    return native.addAsync(keys, vectors, Math.max(1, Math.floor(threads)), repair).then((relinked) => ({ relinked, stranded: repair ? native.stranded() : 0 }));
  }
  remove(key: number): boolean {
    return this.#native.remove(key);
  }
  // Searches beside a running addAsync need nothing here: the addon lets a search in
  // only between whole adds, so it never meets a half-linked node (alvd_index.cc, Phase).
  search(query: Float32Array, k: number, expansion?: number): SearchHits {
    return this.#complete(this.#native.search(query, k, expansion || undefined), query, k);
  }
  async searchAsync(query: Float32Array, k: number, expansion?: number): Promise<SearchHits> {
    return this.#complete(await this.#batcher.search(query, k, expansion || 0), query, k);
  }
  /** a short answer (e.g. removed nodes cutting the graph) is redone exactly */
  #complete(hits: SearchHits, query: Float32Array, k: number): SearchHits {
    if (hits.count < k && hits.count < this.#native.size()) return this.#native.exactSearch(query, k);
    return hits;
  }

  exactSearch(query: Float32Array, k: number): SearchHits {
    return this.#native.exactSearch(query, k);
  }
  saveAsync(path: string): Promise<void> {
    return this.#native.saveAsync(path).catch((err: unknown) => {
      throw withErrno(err, path);
    });
  }
  load(path: string): GraphRepair {
    const relinked = this.#native.load(path);
    return { relinked, stranded: this.#native.stranded() };
  }
  memoryUsage(): number {
    return this.#native.memoryUsage();
  }
  stranded(): number {
    return this.#native.stranded();
  }
  clear(): void {
    this.#native.clear();
  }
}

/** Opens an empty index with the addon flavour chosen by `simd`. */
export function openIndex(options: IndexOptions, simd: SimdMode): AnnIndex {
  return new NativeAnnIndex(options, moduleFor(simd));
}
