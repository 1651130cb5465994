// The contract between the agent engine and the native HNSW index. The engine never
// touches the addon directly, so the addon flavour (SIMD or plain, ours or the
// prebuilt) is a start-up decision invisible above this line.

/** Distance kernels the index can compute (usearch metric names). */
export type Metric = "l2sq" | "cos" | "ip";

/** How vectors are stored inside the index (beyond-Vald quantisation). */
export type Quantization = "f32" | "f16" | "i8";

/** `auto` picks the fastest kernels the CPU supports; `plain` forces portable code. */
export type SimdMode = "auto" | "plain";

export interface IndexOptions {
  dimensions: number;
  metric: Metric;
  quantization: Quantization;
  /** HNSW M: edges per node (from --creation-edge-size). */
  connectivity: number;
  /** ef at construction time. */
  expansionAdd: number;
  /** default ef at query time (from --search-edge-size); searches may override it. */
  expansionSearch: number;
}

export interface SearchHits {
  /** keys of the hits, nearest first; only the first `count` entries are valid. */
  keys: Float64Array;
  distances: Float32Array;
  count: number;
}

/**
 * What the reachability check after an add or a load did. An HNSW graph can hold a
 * stored vector that no search reaches, at any ef (native/reachability.hpp); such
 * vectors are linked into the graph again, and those it still does not reach are
 * scanned by every search beside the graph.
 */
export interface GraphRepair {
  /** unreachable vectors linked into the graph again */
  relinked: number;
  /** vectors still outside the graph's reach, now scanned by every search */
  stranded: number;
}

/**
 * One HNSW index. Keys are non-negative safe integers chosen by the caller.
 * Sync methods run on the calling (JS) thread; *Async methods run on native worker
 * threads so the event loop keeps serving while the graph is built or saved.
 * Concurrent searches with one running addAsync are allowed; the caller must not
 * run remove/add/load/save concurrently with each other.
 */
export interface AnnIndex {
  readonly options: IndexOptions;
  /** live (not removed) vectors */
  size(): number;
  contains(key: number): boolean;
  /** the stored vector (dequantised to f32) or undefined when absent */
  get(key: number): Float32Array | undefined;
  /**
   * add keys.length vectors laid out row-major in `vectors`, on `threads` native threads;
   * every vector is found by searches afterwards, unless `repair` is false (a build of
   * several steps repairs the whole graph once, after its last)
   */
  addAsync(keys: Float64Array, vectors: Float32Array, threads: number, repair?: boolean): Promise<GraphRepair>;
  remove(key: number): boolean;
  /** approximate k-NN; `expansion` overrides the default ef for this call when > 0 */
  search(query: Float32Array, k: number, expansion?: number): SearchHits;
  /** same as search but on a native worker thread */
  searchAsync(query: Float32Array, k: number, expansion?: number): Promise<SearchHits>;
  /** exact brute-force k-NN over every stored vector (LinearSearch) */
  exactSearch(query: Float32Array, k: number): SearchHits;
  saveAsync(path: string): Promise<void>;
  /** replace the contents with the file written by saveAsync (older files may need a repair) */
  load(path: string): GraphRepair;
  /** bytes held by the index (graph + vectors) */
  memoryUsage(): number;
  /** vectors the graph does not reach, which every search scans (GraphRepair.stranded, less removals since) */
  stranded(): number;
  /** remove everything */
  clear(): void;
  /** the kernel family in use, e.g. "haswell", "skylake", "serial" */
  readonly isa: string;
}
