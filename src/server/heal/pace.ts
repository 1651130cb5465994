// Spaces work out to a rate (items per second): each take(n) waits until n more items
// fit under the rate since the start. 0 = no limit. A pause (nothing taken) does not
// bank credit beyond one second's worth, so a burst after idling stays bounded.
export class Pace {
  private next = 0;

  constructor(private readonly perSecond: number) {}

  async take(n: number, signal?: AbortSignal): Promise<void> {
    if (this.perSecond <= 0 || n <= 0) return;
    const now = performance.now();
    this.next = Math.max(this.next, now - 1000);
    const wait = this.next - now;
    this.next += (n / this.perSecond) * 1000;
    if (wait > 0) await sleep(wait, signal);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
