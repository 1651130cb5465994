// Lets the repair wait for searches that might not see a copy it just wrote. A move
// writes the id on its new agent, then drops it from the old one; a search that asked
// the new agent before the copy landed, and reaches the old one only after the drop,
// would miss the id. So the repair drops only after every search that was in flight
// when its copies landed has finished (searches are bounded by their deadline);
// searches starting later see the new copy.
export class SearchBarrier {
  private epoch = 0;
  private readonly inFlight = new Map<number, number>();
  private waiters: { upto: number; resolve: () => void }[] = [];

  /** a search fan-out starts; call the result when it has every answer it will use */
  enter(): () => void {
    const e = this.epoch;
    this.inFlight.set(e, (this.inFlight.get(e) ?? 0) + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const n = this.inFlight.get(e)! - 1;
      if (n > 0) this.inFlight.set(e, n);
      else {
        this.inFlight.delete(e);
        this.wakeUp();
      }
    };
  }

  /** resolves once every search in flight now has finished */
  drain(): Promise<void> {
    const upto = this.epoch++;
    if (!this.busyUpTo(upto)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ upto, resolve }));
  }

  private busyUpTo(upto: number): boolean {
    for (const e of this.inFlight.keys()) if (e <= upto) return true;
    return false;
  }

  private wakeUp(): void {
    if (this.waiters.length === 0) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (this.busyUpTo(w.upto)) still.push(w);
      else w.resolve();
    }
    this.waiters = still;
  }
}
