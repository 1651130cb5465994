// How long a search waits for the last agents once the answers in hand already cover
// every id (see coverage.ts). Twice the 90th percentile of recent agent search times:
// a healthy agent that is merely a little behind nearly always arrives within it, so
// the merged answer is what waiting for everyone would give, while a hung agent costs
// about two ordinary searches instead of the whole timeout. Kept within [2 ms, 250 ms]
// so a burst of very fast or very slow samples cannot make it useless either way.
const SAMPLES = 256;
const MIN_MS = 2;
const MAX_MS = 250;
/** until enough samples exist */
const INITIAL_MS = 50;

export class SearchGrace {
  private readonly ring = new Float64Array(SAMPLES);
  private n = 0;
  private next = 0;
  private sinceSort = 0;
  private cached = INITIAL_MS;

  record(ms: number): void {
    this.ring[this.next] = ms;
    this.next = (this.next + 1) % SAMPLES;
    if (this.n < SAMPLES) this.n++;
    this.sinceSort++;
  }

  ms(): number {
    if (this.n < 16) return INITIAL_MS;
    // re-derive every 32 samples: sorting 256 numbers per search would cost more than it saves
    if (this.sinceSort >= 32 || this.cached === INITIAL_MS) {
      this.sinceSort = 0;
      const sorted = Array.from(this.ring.subarray(0, this.n)).sort((a, b) => a - b);
      const p90 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.9))]!;
      this.cached = Math.min(MAX_MS, Math.max(MIN_MS, 2 * p90));
    }
    return this.cached;
  }
}
