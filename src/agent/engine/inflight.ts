// Writes accepted but not yet durable. The engine decides each write's outcome at
// once, against the state the writes before it will leave (so "insert then update"
// on one stream works, and concurrent writers share one fsync), but applies it to the
// store only when its WAL record is on disk. So no read ever sees a write that a
// failing log could still take back, and a failure leaves nothing to roll back.
import type { IdFileContents } from "./id-file";
import type { VectorStore } from "./store";
import type { WalRecord } from "./wal-record";

/** what an id will be once the planned writes are applied */
export interface Planned {
  present: boolean;
  timestamp: bigint;
  /** the new vector; null when only the timestamp changes (the store's vector stays) */
  vector: Float32Array | null;
}

/** an id's state as the next write must see it */
export interface Current {
  timestamp: bigint;
  vector(): Float32Array | undefined;
}

interface Op {
  records: WalRecord[];
  /** the overlay entries this op made, removed once it is applied unless a later op replaced them */
  planned: [string, Planned][];
  flush: boolean;
  durable: boolean;
  done: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

export class InFlight {
  /** latest planned state per id */
  private readonly latest = new Map<string, Planned>();
  /** a planned flush hides every stored entry */
  private flushes = 0;
  private queue: Op[] = [];

  constructor(private readonly store: VectorStore) {}

  get size(): number {
    return this.queue.length;
  }

  current(id: string): Current | undefined {
    const planned = this.latest.get(id);
    if (planned) {
      if (!planned.present) return undefined;
      return { timestamp: planned.timestamp, vector: () => planned.vector ?? this.storedVector(id) };
    }
    if (this.flushes > 0) return undefined;
    const entry = this.store.entries.get(id);
    return entry && { timestamp: entry.timestamp, vector: () => this.store.vectorOf(entry) };
  }

  /** every id that exists once the planned writes are applied, with its timestamp */
  *timestamps(): Iterable<[string, bigint]> {
    for (const [id, p] of this.latest) if (p.present) yield [id, p.timestamp];
    if (this.flushes > 0) return;
    for (const [id, entry] of this.store.entries) if (!this.latest.has(id)) yield [id, entry.timestamp];
  }

  /** Plans records (already validated); the promise settles when settle/fail reach them. */
  plan(records: WalRecord[]): { op: Op; done: Promise<void> } {
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const done = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    const op: Op = { records, planned: [], flush: false, durable: false, done, resolve, reject };
    const set = (id: string, p: Planned) => {
      this.latest.set(id, p);
      op.planned.push([id, p]);
    };
    for (const r of records) {
      switch (r.kind) {
        case "put":
          set(r.id, { present: true, timestamp: r.timestamp, vector: r.vector });
          break;
        case "remove":
          set(r.id, { present: false, timestamp: 0n, vector: null });
          break;
        case "timestamp":
          set(r.id, { present: true, timestamp: r.timestamp, vector: this.latest.get(r.id)?.vector ?? null });
          break;
        case "flush":
          this.latest.clear();
          this.flushes++;
          op.flush = true;
          break;
      }
    }
    this.queue.push(op);
    return { op, done };
  }

  /**
   * Marks op durable and applies every durable op at the head of the queue, in log
   * order. Returns whether anything was applied.
   */
  settle(op: Op): boolean {
    op.durable = true;
    let applied = false;
    while (this.queue[0]?.durable) {
      const head = this.queue.shift()!;
      for (const r of head.records) this.store.apply(r);
      // the store now says what these overlay entries said
      for (const [id, p] of head.planned) if (this.latest.get(id) === p) this.latest.delete(id);
      if (head.flush) this.flushes--;
      applied = true;
      head.resolve();
    }
    return applied;
  }

  /** Resolves once every op planned so far is applied or failed. */
  async drained(): Promise<void> {
    await Promise.allSettled(this.queue.map((op) => op.done));
  }

  /** The log failed: nothing still queued will be applied. */
  fail(errFor: (records: WalRecord[]) => unknown): void {
    const lost = this.queue;
    this.queue = [];
    this.latest.clear();
    this.flushes = 0;
    for (const op of lost) op.reject(errFor(op.records));
  }

  /**
   * The store as it will be once every planned write is applied, for a snapshot taken
   * while writes are in flight: their records sit in the WAL segment the snapshot
   * replaces, so it must contain them (a save commits only once they are durable).
   */
  capture(): IdFileContents {
    const base = this.store.capture();
    if (this.latest.size === 0 && this.flushes === 0) return base;
    const hidden = (id: string) => this.flushes > 0 || this.latest.has(id);
    const committed = base.committed.filter((r) => !hidden(r.id));
    const pending = base.pending.filter((r) => !hidden(r.id));
    let nextKey = base.nextKey;
    for (const [id, p] of this.latest) {
      if (!p.present) continue;
      if (p.vector) {
        pending.push({ id, key: nextKey++, timestamp: p.timestamp, vector: p.vector });
        continue;
      }
      const entry = this.store.entries.get(id);
      if (!entry) continue;
      if (entry.pending) pending.push({ id, key: entry.key, timestamp: p.timestamp, vector: entry.pending });
      else committed.push({ id, key: entry.key, timestamp: p.timestamp });
    }
    return { committed, pending, nextKey };
  }

  private storedVector(id: string): Float32Array | undefined {
    const entry = this.store.entries.get(id);
    return entry && this.store.vectorOf(entry);
  }
}
