// The agent's in-memory truth: which ids exist, their index keys and timestamps, and
// which vectors still wait for CreateIndex. Every method is synchronous, so a caller
// sees a consistent state between two awaits; the HNSW index only lags behind it.
//
// Keys come from a counter and are never handed out twice: a key that was removed may
// still sit in the graph (while a build or save is running, removals are deferred), and
// a reused key would let a stale graph node answer for a new vector.
import type { AnnIndex } from "../../index/types";
import { VectorArena } from "./arena";
import type { WalRecord } from "./wal-record";

export interface Entry {
  key: number;
  timestamp: bigint;
  /** the vector while it is not (yet) in the graph; null once committed */
  pending: Float32Array | null;
}

export interface CommittedRecord {
  id: string;
  key: number;
  timestamp: bigint;
}

export interface PendingRecord extends CommittedRecord {
  vector: Float32Array;
}

export class VectorStore {
  readonly entries = new Map<string, Entry>();
  /** live key → id; a graph hit whose key is missing here is stale */
  private readonly owners = new Map<number, string>();
  /** uncommitted entries waiting for the next CreateIndex */
  private staged = new Map<string, Entry>();
  /** the batch a running CreateIndex is adding to the graph */
  private building: Map<string, Entry> | null = null;
  /** graph keys to remove once the index is no longer busy */
  private doomed: number[] = [];
  /** entries of the running build removed or replaced meanwhile (possibly in the graph already) */
  private deadInBuild = 0;
  private clearWhenIdle = false;
  private clearWaiters: (() => void)[] = [];
  private busy = false;
  /** graph searches running on native threads; graph removals wait for them too */
  private pins = 0;
  private uncommittedCount = 0;
  nextKey = 0;
  /** where uncommitted vectors are kept (arena.ts) */
  readonly arena: VectorArena;

  constructor(
    private readonly index: AnnIndex,
    dimension: number,
  ) {
    this.arena = new VectorArena(dimension, () => this.entries.size);
  }

  get size(): number {
    return this.entries.size;
  }

  /** entries not yet in the graph, including those of a running build */
  get uncommitted(): number {
    return this.uncommittedCount;
  }

  /** entries a new CreateIndex would pick up */
  get stagedCount(): number {
    return this.staged.size;
  }

  /** graph keys that are no longer live but still inside the graph */
  get staleInGraph(): number {
    return this.doomed.length + this.deadInBuild;
  }

  idOfKey(key: number): string | undefined {
    return this.owners.get(key);
  }

  /** Stores (or replaces) id's vector as a new uncommitted entry. */
  put(id: string, vector: Float32Array, timestamp: bigint): void {
    const old = this.entries.get(id);
    if (old) this.retire(id, old);
    this.stage(id, { key: this.nextKey++, timestamp, pending: this.arena.adopt(vector) });
  }

  /** Applies a logged outcome (replay, or a write whose record just became durable). */
  apply(record: WalRecord): void {
    switch (record.kind) {
      case "put":
        this.put(record.id, record.vector, record.timestamp);
        return;
      case "remove":
        this.delete(record.id);
        return;
      case "timestamp":
        this.setTimestamp(record.id, record.timestamp);
        return;
      case "flush":
        this.clear();
        return;
    }
  }

  setTimestamp(id: string, timestamp: bigint): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    entry.timestamp = timestamp;
    return true;
  }

  delete(id: string): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    this.retire(id, entry);
    this.entries.delete(id);
    return true;
  }

  clear(): void {
    this.entries.clear();
    this.owners.clear();
    this.staged.clear();
    this.uncommittedCount = 0;
    if (this.building) this.deadInBuild = this.building.size;
    if (this.busy || this.pins > 0) {
      this.clearWhenIdle = true;
      this.doomed = [];
    } else {
      this.index.clear();
    }
  }

  vectorOf(entry: Entry): Float32Array | undefined {
    return entry.pending ?? this.index.get(entry.key);
  }

  /** Calls fn for every live entry whose vector is not searchable through the graph alone. */
  forEachPending(fn: (id: string, entry: Entry, vector: Float32Array) => void): void {
    for (const [id, entry] of this.staged) fn(id, entry, entry.pending!);
    if (!this.building) return;
    for (const [id, entry] of this.building) {
      if (this.entries.get(id) === entry && entry.pending) fn(id, entry, entry.pending);
    }
  }

  /** Marks the index busy (a build or save owns it); graph removals wait until idle(). */
  beginExclusive(): void {
    this.busy = true;
  }

  /** Ends a busy period and applies the removals that waited for it. */
  idle(): void {
    this.busy = false;
    if (this.pins === 0) this.applyDeferred();
  }

  /**
   * Whether a search may run on a native thread now. Not while removals wait: pinned
   * searches hold them back, and under steady load pins could overlap forever.
   */
  get canPin(): boolean {
    return this.doomed.length === 0 && !this.clearWhenIdle;
  }

  /** Keeps the graph unchanged (but for additions) while a native search reads it. */
  pin(): void {
    this.pins++;
  }

  /** a native search reads the graph now: it must not be replaced */
  get pinned(): boolean {
    return this.pins > 0;
  }

  unpin(): void {
    this.pins--;
    if (this.pins === 0 && !this.busy) this.applyDeferred();
  }

  /**
   * Resolves once no deferred clear is pending. A build must wait for it: the clear
   * would otherwise wipe the batch it adds. Pins drain meanwhile because canPin is
   * false while a clear waits.
   */
  get clearPending(): boolean {
    return this.clearWhenIdle;
  }

  cleared(): Promise<void> {
    if (!this.clearWhenIdle) return Promise.resolve();
    return new Promise((resolve) => this.clearWaiters.push(resolve));
  }

  private applyDeferred(): void {
    if (this.clearWhenIdle) {
      this.clearWhenIdle = false;
      this.doomed = [];
      this.index.clear();
      for (const resolve of this.clearWaiters.splice(0)) resolve();
      return;
    }
    for (const key of this.doomed) this.index.remove(key);
    this.doomed = [];
  }

  /**
   * Hands the oldest staged entries (at most `limit`) to a build; the rest stay staged,
   * searchable as before, for the next batch.
   */
  takeBatch(limit = Infinity): Map<string, Entry> | null {
    if (this.staged.size === 0) return null;
    let batch: Map<string, Entry>;
    if (this.staged.size <= limit) {
      batch = this.staged;
      this.staged = new Map();
    } else {
      batch = new Map();
      for (const [id, entry] of this.staged) {
        if (batch.size >= limit) break;
        batch.set(id, entry);
      }
      for (const id of batch.keys()) this.staged.delete(id);
    }
    this.building = batch;
    this.beginExclusive();
    return batch;
  }

  /**
   * Settles a build. On success the batch's live entries become committed and the
   * ones removed or replaced meanwhile are dropped from the graph. On failure the
   * live entries go back to staging under fresh keys (whatever part of the batch
   * reached the graph is dropped), so nothing acknowledged is lost.
   */
  finishBatch(batch: Map<string, Entry>, added: boolean): void {
    this.building = null;
    this.deadInBuild = 0;
    for (const [id, entry] of batch) {
      const live = this.entries.get(id) === entry;
      if (added && live) {
        entry.pending = null;
        this.uncommittedCount--;
        continue;
      }
      if (added || this.index.contains(entry.key)) this.doomed.push(entry.key);
      if (live) {
        this.owners.delete(entry.key);
        this.uncommittedCount--;
        this.stage(id, { key: this.nextKey++, timestamp: entry.timestamp, pending: entry.pending });
      }
    }
    this.idle();
  }

  /** Everything a snapshot needs; call only while no build is running. */
  capture(): { committed: CommittedRecord[]; pending: PendingRecord[]; nextKey: number } {
    const committed: CommittedRecord[] = [];
    const pending: PendingRecord[] = [];
    for (const [id, entry] of this.entries) {
      if (entry.pending) pending.push({ id, key: entry.key, timestamp: entry.timestamp, vector: entry.pending });
      else committed.push({ id, key: entry.key, timestamp: entry.timestamp });
    }
    return { committed, pending, nextKey: this.nextKey };
  }

  /**
   * Rebuilds the maps from a snapshot whose graph is already loaded into the index.
   * Graph nodes without an owner (removed before the save, or a committed record the
   * file lost) are dropped so they can never surface.
   */
  restore(committed: CommittedRecord[], pending: PendingRecord[], nextKey: number): void {
    this.nextKey = nextKey;
    for (const r of committed) {
      this.entries.set(r.id, { key: r.key, timestamp: r.timestamp, pending: null });
      this.owners.set(r.key, r.id);
    }
    for (const r of pending) this.stage(r.id, { key: r.key, timestamp: r.timestamp, pending: this.arena.adopt(r.vector) });
    for (let key = 0; key < nextKey; key++) {
      if (!this.owners.has(key) && this.index.contains(key)) this.index.remove(key);
    }
  }

  private stage(id: string, entry: Entry): void {
    this.entries.set(id, entry);
    this.owners.set(entry.key, id);
    this.staged.set(id, entry);
    this.uncommittedCount++;
  }

  private retire(id: string, entry: Entry): void {
    this.owners.delete(entry.key);
    if (entry.pending) {
      this.uncommittedCount--;
      if (this.staged.get(id) === entry) this.staged.delete(id);
      // an entry of a running build is settled by finishBatch
      else this.deadInBuild++;
      return;
    }
    if (this.busy || this.pins > 0) this.doomed.push(entry.key);
    else this.index.remove(entry.key);
  }
}
