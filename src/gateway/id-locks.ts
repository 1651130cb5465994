// Per-id mutual exclusion between client writes and the server's repair. A copy, move
// or trim of an id reads its vector on one agent and writes or drops it on others; a
// client write to the same id in between would be undone (an update lost, a removed
// id copied back). Writes through this server and repair batches therefore take the
// ids they touch; writes to other ids never wait. Locks are taken all at once (never
// one by one while holding others), so two holders cannot wait on each other.
export type Release = () => void;

/** What writes did while a watch ran (a repair scan's listing): see IdLocks.watch. */
export interface WriteWatch {
  /** ids held when the watch began or taken since */
  readonly ids: ReadonlySet<string>;
  /** an every-id holder (Flush, RemoveByTimestamp) held or took the lock meanwhile */
  readonly everything: boolean;
  stop(): void;
}

type Watching = { ids: Set<string>; everything: boolean; stop(): void };

export class IdLocks {
  private readonly held = new Map<string, Promise<void>>();
  /** set while someone holds every id (Flush, RemoveByTimestamp) */
  private all: Promise<void> | undefined;
  private readonly watches = new Set<Watching>();

  /**
   * Records the ids writes hold from now until stop(). A listing of several agents is
   * not one snapshot: an id written while it runs may show on one agent and not yet (or
   * no longer) on another, so the scan checks these ids again before it counts them.
   */
  watch(): WriteWatch {
    const w: Watching = { ids: new Set(this.held.keys()), everything: this.all !== undefined, stop: () => void this.watches.delete(w) };
    this.watches.add(w);
    return w;
  }

  /** Waits until none of `ids` is held, then holds them all. */
  async acquire(ids: Iterable<string>): Promise<Release> {
    const list = [...new Set(ids)];
    for (;;) {
      if (this.all !== undefined) {
        await this.all;
        continue;
      }
      const busy = list.find((id) => this.held.has(id));
      if (busy === undefined) break;
      await this.held.get(busy);
    }
    let release!: () => void;
    const gone = new Promise<void>((r) => (release = r));
    for (const id of list) this.held.set(id, gone);
    for (const w of this.watches) for (const id of list) w.ids.add(id);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      for (const id of list) if (this.held.get(id) === gone) this.held.delete(id);
      release();
    };
  }

  /** Holds every id: waits for current holders, and new ones wait until released. */
  async acquireAll(): Promise<Release> {
    while (this.all !== undefined) await this.all;
    let release!: () => void;
    const gone = new Promise<void>((r) => (release = r));
    this.all = gone;
    for (const w of this.watches) w.everything = true;
    while (this.held.size > 0) await Promise.all([...this.held.values()]);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (this.all === gone) this.all = undefined;
      release();
    };
  }

  /** ids held right now (tests, metrics) */
  get size(): number {
    return this.held.size;
  }
}

/** Runs fn holding `ids`; the lock is released when `fn`'s settled promise resolves. */
export async function withIds<T>(locks: IdLocks, ids: Iterable<string>, fn: () => Promise<T>): Promise<T> {
  const release = await locks.acquire(ids);
  try {
    return await fn();
  } finally {
    release();
  }
}
