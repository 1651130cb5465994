// Where uncommitted vectors live until CreateIndex: packed side by side in large
// chunks rather than one small allocation each. A build then hands whole runs of a
// chunk to the index without gathering them into one batch-sized copy, and once a
// chunk's vectors are all in the graph the chunk is one allocation for the allocator
// to give back to the OS, not thousands of scattered ones.

const FIRST_CHUNK_VECTORS = 256;
const MAX_CHUNK_BYTES = 16 << 20;
/**
 * A write leaves garbage about its vector's size behind (the request's bytes; the vector
 * is decoded straight into the arena and the log record is packed into a reused buffer),
 * twice that when the vector came as a plain array and had to be copied. Collecting every so
 * many staged bytes keeps that garbage, and so the RSS of a bulk load, proportional to
 * this instead of to the whole load. A collection costs time in proportion to the
 * objects the agent holds, so the interval grows with them: about the same collection
 * time per vector stored, at any size. 8 MiB: when each write also left a log frame and
 * its joined copy, 4 MiB gave the same peak and cost a 60k × 784 load 0.9 s of the
 * main thread in collections; since requests decode into the arena, 16 MiB gives the
 * same peak and no shorter a load.
 */
const COLLECT_EVERY_BYTES = 8 << 20;
const COLLECT_BYTES_PER_HELD = 64;

export class VectorArena {
  private chunk: Float32Array | null = null;
  private used = 0;
  private nextVectors = FIRST_CHUNK_VECTORS;
  /** chunk buffers this arena made (a vector viewing one needs no copy) */
  private readonly chunks = new WeakSet<ArrayBufferLike>();
  private sinceCollect = 0;

  /** `held`: how many vectors the agent holds (the collection's cost grows with it) */
  constructor(
    private readonly dimension: number,
    private readonly held: () => number = () => 0,
  ) {}

  /** A copy of `v` inside the arena. */
  copy(v: ArrayLike<number>): Float32Array {
    const view = this.take();
    view.set(v);
    return view;
  }

  /**
   * Room for one vector, for its writer to fill (a request decoded straight into the
   * arena, so staging it needs no second copy). Room taken for a write that then fails
   * stays unused until its chunk is dropped.
   */
  take(): Float32Array {
    const d = this.dimension;
    if (this.chunk === null || this.used + d > this.chunk.length) this.grow();
    const view = this.chunk!.subarray(this.used, this.used + d);
    this.used += d;
    this.sinceCollect += view.byteLength;
    if (this.sinceCollect >= Math.max(COLLECT_EVERY_BYTES, this.held() * COLLECT_BYTES_PER_HELD)) {
      this.sinceCollect = 0;
      Bun.gc(true);
    }
    return view;
  }

  /** `v` itself when it already lives in the arena, else a copy that does. */
  adopt(v: Float32Array): Float32Array {
    return this.chunks.has(v.buffer) && v.length === this.dimension ? v : this.copy(v);
  }

  /**
   * Stops filling the current chunk (once nothing staged is left in it): the chunk is
   * then garbage as soon as the last vector viewing it is, instead of staying for the
   * vectors of a next bulk load (up to MAX_CHUNK_BYTES held for nothing meanwhile).
   * Chunks start small again, so a trickle of writes does not claim a large one.
   */
  release(): void {
    this.chunk = null;
    this.used = 0;
    this.nextVectors = FIRST_CHUNK_VECTORS;
  }

  private grow(): void {
    // chunks start small (an agent holding a handful of vectors stays small) and double
    const cap = Math.max(1, Math.floor(MAX_CHUNK_BYTES / 4 / this.dimension));
    const vectors = Math.min(this.nextVectors, cap);
    this.nextVectors = Math.min(cap, this.nextVectors * 2);
    this.chunk = new Float32Array(vectors * this.dimension);
    this.chunks.add(this.chunk.buffer);
    this.used = 0;
  }
}

/** Runs of vectors that sit back to back in one chunk, in the order given. */
export function contiguousRuns<T>(items: T[], vectorOf: (item: T) => Float32Array): { items: T[]; vectors: Float32Array }[] {
  const runs: { items: T[]; vectors: Float32Array }[] = [];
  let start = 0;
  const close = (end: number) => {
    if (end <= start) return;
    const first = vectorOf(items[start]!);
    const d = first.length;
    runs.push({ items: items.slice(start, end), vectors: new Float32Array(first.buffer, first.byteOffset, (end - start) * d) });
    start = end;
  };
  for (let i = 1; i < items.length; i++) {
    const prev = vectorOf(items[i - 1]!);
    const cur = vectorOf(items[i]!);
    if (cur.buffer !== prev.buffer || cur.byteOffset !== prev.byteOffset + prev.byteLength) close(i);
  }
  close(items.length);
  return runs;
}
