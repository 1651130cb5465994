// Coalesces async searches into native batches.
//
// Every native async call pays N-API's async work, a thread wake-up, a promise and its
// result objects: measured, ~50 µs of JS-thread CPU for a lone search and ~29 µs per
// search when 16 are asked at once, against ~8 µs when those 16 share calls, and the
// pool threads spend less per search too. So searches go down in batches on a few
// lanes (one per core): asked while a lane is free, a search leaves at the end of the
// event-loop turn with whatever else that turn asked; asked while every lane is busy,
// it waits for the first lane to finish and goes with everything that queued
// meanwhile. An idle server adds no wait; a loaded one gets larger batches.
import type { SearchHits } from "./types.ts";

/** query i's hits start at the sum of ks[0..i) in keys and distances */
export interface BatchHits {
  keys: Float64Array;
  distances: Float32Array;
  counts: Uint32Array;
}

export type BatchSearch = (queries: Float32Array, ks: Uint32Array, efs: Uint32Array) => Promise<BatchHits>;

interface Waiter {
  /** its hits' share of the batch's keys and distances */
  k: number;
  resolve(hits: SearchHits): void;
  reject(err: unknown): void;
}

const MAX_K = 1 << 20;
/** a lane's batch at most: bounds how long one batch holds the searches behind it */
const MAX_BATCH = 64;

export class SearchBatcher {
  readonly #run: BatchSearch;
  readonly #dims: number;
  readonly #lanes: number;
  // Reused: the native side copies them before the call returns.
  #queries: Float32Array;
  #ks: Uint32Array;
  #efs: Uint32Array;
  #waiters: Waiter[] = [];
  #scheduled = false;
  #busy = 0;

  constructor(run: BatchSearch, dims: number, lanes: number) {
    this.#run = run;
    this.#dims = dims;
    this.#lanes = Math.max(1, Math.floor(lanes));
    this.#queries = new Float32Array(16 * dims);
    this.#ks = new Uint32Array(16);
    this.#efs = new Uint32Array(16);
  }

  /** `ef` 0: the index default. The query is copied, so the caller may reuse it at once. */
  search(query: Float32Array, k: number, ef: number): Promise<SearchHits> {
    // checked here so one caller's mistake does not fail the others in its batch
    if (query.length !== this.#dims) return Promise.reject(new RangeError(`query has ${query.length} dimensions, index has ${this.#dims}`));
    if (!Number.isInteger(k) || k < 0 || k > MAX_K) return Promise.reject(new RangeError(`k must be an integer in [0, ${MAX_K}], got ${k}`));
    if (!Number.isInteger(ef) || ef < 0 || ef > MAX_K) return Promise.reject(new RangeError(`expansion must be an integer in [0, ${MAX_K}], got ${ef}`));
    const i = this.#waiters.length;
    if (i === this.#ks.length) this.#grow();
    this.#queries.set(query, i * this.#dims);
    this.#ks[i] = k;
    this.#efs[i] = ef;
    return new Promise<SearchHits>((resolve, reject) => {
      this.#waiters.push({ k, resolve, reject });
      if (this.#busy < this.#lanes) this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#flush);
  }

  #grow(): void {
    const n = this.#ks.length * 2;
    const queries = new Float32Array(n * this.#dims);
    queries.set(this.#queries);
    const ks = new Uint32Array(n);
    ks.set(this.#ks);
    const efs = new Uint32Array(n);
    efs.set(this.#efs);
    [this.#queries, this.#ks, this.#efs] = [queries, ks, efs];
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const n = this.#waiters.length;
    const free = this.#lanes - this.#busy;
    if (n === 0 || free <= 0) return;
    // the queue is cut into one batch per free lane, from the front
    const per = Math.min(MAX_BATCH, Math.ceil(n / Math.min(free, n)));
    let from = 0;
    for (let lane = 0; lane < free && from < n; lane++) {
      const to = Math.min(n, from + per);
      let call: Promise<BatchHits>;
      try {
        call = this.#run(this.#queries.subarray(from * this.#dims, to * this.#dims), this.#ks.subarray(from, to), this.#efs.subarray(from, to));
      } catch (err) {
        call = Promise.reject(err);
      }
      this.#busy++;
      this.#settle(call, this.#waiters.slice(from, to));
      from = to;
    }
    if (from < n) {
      // what no lane took moves to the front
      this.#queries.copyWithin(0, from * this.#dims, n * this.#dims);
      this.#ks.copyWithin(0, from, n);
      this.#efs.copyWithin(0, from, n);
    }
    this.#waiters = this.#waiters.slice(from);
  };

  #settle(call: Promise<BatchHits>, waiters: Waiter[]): void {
    const done = () => {
      this.#busy--;
      // at the end of this turn: what the answers' continuations ask joins the batch
      if (this.#waiters.length > 0) this.#schedule();
    };
    call.then(
      (batch) => {
        done();
        let at = 0;
        for (let i = 0; i < waiters.length; i++) {
          const { k, resolve } = waiters[i]!;
          resolve({ keys: batch.keys.subarray(at, at + k), distances: batch.distances.subarray(at, at + k), count: batch.counts[i]! });
          at += k;
        }
      },
      (err: unknown) => {
        done();
        for (const w of waiters) w.reject(err);
      },
    );
  }
}
