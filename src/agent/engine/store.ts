// The agent's in-memory truth: which ids exist, their index keys and timestamps, and
// which vectors still wait for CreateIndex. Every method is synchronous, so a caller
// sees a consistent state between two awaits; the HNSW index only lags behind it.
//
// Keys come from a counter and are never handed out twice: a key that was removed may
// still sit in the graph (while a build or save is running, removals are deferred), and
// a reused key would let a stale graph node answer for a new vector.
//
// Per id the store holds a slot: its key, timestamp and uncommitted vector sit in
// arrays indexed by slot rather than in an object per id (an object with a bigint
// costs several times the bytes, and the agent holds one per vector). A removed id's
// slot is reused, so the arrays follow the live count, not the keys ever issued. Id →
// slot and key → slot are hash tables of slot numbers over those arrays (id-table.ts,
// key-table.ts). Ids are iterated in slot order, which Vald leaves unspecified.
import type { AnnIndex } from "../../index/types";
import { VectorArena } from "./arena";
import type { IdColumns } from "./id-file";
import { IdTable } from "./id-table";
import { KeyTable } from "./key-table";
import type { WalRecord } from "./wal-record";

/** An id's state when it was read (a copy: later writes do not change it). */
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

/** The staged entries a build adds to the graph, as they were when it took them. */
export interface Batch {
  readonly slots: Int32Array;
  readonly keys: Float64Array;
  readonly vectors: Float32Array[];
}

/** Read access by id, shaped like a Map of entries. */
export interface EntryMap {
  readonly size: number;
  get(id: string): Entry | undefined;
  has(id: string): boolean;
  /** live like a Map's: ids added or removed meanwhile may or may not be seen */
  [Symbol.iterator](): IterableIterator<[string, Entry]>;
}

/** a slot without an id; no key is negative */
const FREE = -1;
const MIN_SLOTS = 1024;

export class VectorStore {
  /** by slot: the id, or undefined when free */
  private ids: (string | undefined)[] = [];
  /** id → slot */
  private readonly slotOf = new IdTable((slot) => this.ids[slot]);
  private keys = new Float64Array(MIN_SLOTS).fill(FREE);
  private stamps = new BigInt64Array(MIN_SLOTS);
  /** by slot: the vector while it is not in the graph */
  private pending: (Float32Array | null)[] = [];
  /** slots below this have been used */
  private used = 0;
  private freeSlots: number[] = [];
  /** live key → slot; a graph hit whose key is missing here is stale */
  private readonly owners = new KeyTable((slot) => this.keys[slot]!);
  /** slots of uncommitted entries waiting for the next CreateIndex, oldest first */
  private staged = new Set<number>();
  /** the batch a running CreateIndex is adding to the graph */
  private building: Batch | null = null;
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
  readonly entries: EntryMap;

  constructor(
    private readonly index: AnnIndex,
    dimension: number,
  ) {
    this.arena = new VectorArena(dimension, () => this.slotOf.size);
    this.entries = this.entryMap();
  }

  get size(): number {
    return this.slotOf.size;
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
    const slot = this.owners.get(key);
    return slot < 0 ? undefined : this.ids[slot];
  }

  /** Stores (or replaces) id's vector as a new uncommitted entry. */
  put(id: string, vector: Float32Array, timestamp: bigint): void {
    let slot = this.slotOf.get(id);
    if (slot < 0) {
      slot = this.takeSlot();
      this.ids[slot] = id;
      this.slotOf.add(id, slot);
    } else {
      this.retire(slot);
    }
    this.stamps[slot] = timestamp;
    this.pending[slot] = this.arena.adopt(vector);
    this.stage(slot, this.nextKey++);
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
    const slot = this.slotOf.get(id);
    if (slot < 0) return false;
    this.stamps[slot] = timestamp;
    return true;
  }

  delete(id: string): boolean {
    const slot = this.slotOf.get(id);
    if (slot < 0) return false;
    this.release(id, slot);
    return true;
  }

  /** id leaves its slot: its graph node retires, and the slot is free for the next id */
  private release(id: string, slot: number): void {
    this.retire(slot);
    this.slotOf.delete(id);
    this.ids[slot] = undefined;
    this.pending[slot] = null;
    this.keys[slot] = FREE;
    this.freeSlots.push(slot);
  }

  clear(): void {
    this.slotOf.clear();
    this.ids = [];
    this.pending = [];
    this.keys = new Float64Array(MIN_SLOTS).fill(FREE);
    this.stamps = new BigInt64Array(MIN_SLOTS);
    this.used = 0;
    this.freeSlots = [];
    this.owners.clear();
    this.staged.clear();
    this.uncommittedCount = 0;
    this.arena.release();
    if (this.building) this.deadInBuild = this.building.slots.length;
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
  forEachPending(fn: (id: string, key: number, vector: Float32Array) => void): void {
    for (const slot of this.staged) fn(this.ids[slot]!, this.keys[slot]!, this.pending[slot]!);
    const b = this.building;
    if (!b) return;
    for (let i = 0; i < b.slots.length; i++) {
      const slot = b.slots[i]!;
      const vector = this.pending[slot];
      if (this.keys[slot] === b.keys[i] && vector) fn(this.ids[slot]!, b.keys[i]!, vector);
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
   * searchable as before, for the next batch. Once it holds `settle` entries the batch
   * ends where the staged vectors stop sitting back to back in the arena, so a bulk
   * load's batches are whole arena runs the index reads in place, not copied first.
   */
  takeBatch(limit = Infinity, settle = Infinity): Batch | null {
    if (this.staged.size === 0) return null;
    const max = Math.min(limit, this.staged.size);
    const slots = new Int32Array(max);
    let n = 0;
    let prev: Float32Array | null = null;
    for (const slot of this.staged) {
      if (n >= max) break;
      const v = this.pending[slot]!;
      if (n >= settle && prev && (v.buffer !== prev.buffer || v.byteOffset !== prev.byteOffset + prev.byteLength)) break;
      slots[n++] = slot;
      prev = v;
    }
    const batch: Batch = { slots: slots.subarray(0, n), keys: new Float64Array(n), vectors: new Array<Float32Array>(n) };
    for (let i = 0; i < n; i++) {
      const slot = slots[i]!;
      batch.keys[i] = this.keys[slot]!;
      batch.vectors[i] = this.pending[slot]!;
    }
    if (n === this.staged.size) this.staged = new Set();
    else for (let j = 0; j < n; j++) this.staged.delete(batch.slots[j]!);
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
  finishBatch(batch: Batch, added: boolean): void {
    this.building = null;
    this.deadInBuild = 0;
    for (let i = 0; i < batch.slots.length; i++) {
      const slot = batch.slots[i]!;
      const key = batch.keys[i]!;
      // keys are never reused: the slot still holds this key only if the entry is live
      const live = this.keys[slot] === key;
      if (added && live) {
        this.pending[slot] = null;
        this.uncommittedCount--;
        continue;
      }
      if (added || this.index.contains(key)) this.doomed.push(key);
      if (live) {
        this.owners.delete(key);
        this.uncommittedCount--;
        this.stage(slot, this.nextKey++);
      }
    }
    this.idle();
  }

  /** Everything a snapshot needs; call only while no build is running. */
  capture(): { committed: CommittedRecord[]; pending: PendingRecord[]; nextKey: number } {
    const committed: CommittedRecord[] = [];
    const pending: PendingRecord[] = [];
    for (let slot = 0; slot < this.used; slot++) {
      const id = this.ids[slot];
      if (id === undefined) continue;
      const key = this.keys[slot]!;
      const timestamp = this.stamps[slot]!;
      const vector = this.pending[slot];
      if (vector) pending.push({ id, key, timestamp, vector });
      else committed.push({ id, key, timestamp });
    }
    return { committed, pending, nextKey: this.nextKey };
  }

  /**
   * Rebuilds the empty store from a snapshot whose graph is already loaded into the
   * index, taking the decoded columns as its own slot arrays. Graph nodes without an
   * owner (removed before the save, or a committed record the file lost) are dropped
   * so they can never surface.
   */
  restore(columns: IdColumns): void {
    if (this.slotOf.size > 0 || this.used > 0) throw new Error("VectorStore.restore: the store is not empty");
    const { ids, keys, timestamps, committed, vectors } = columns;
    const n = ids.length;
    this.nextKey = columns.nextKey;
    this.ids = ids;
    this.keys = keys;
    this.stamps = timestamps;
    this.pending = new Array<Float32Array | null>(n).fill(null);
    this.used = n;
    this.owners.reserve(n);
    this.slotOf.reserve(n);
    const d = n > committed ? vectors.length / (n - committed) : 0;
    for (let slot = 0; slot < n; slot++) {
      const id = ids[slot]!;
      const twice = this.slotOf.get(id);
      if (twice >= 0) {
        // not written by us, but read as before: the later entry wins
        this.release(id, twice);
      }
      this.slotOf.add(id, slot);
      if (slot < committed) this.owners.add(keys[slot]!, slot);
      else {
        this.pending[slot] = this.arena.adopt(vectors.subarray((slot - committed) * d, (slot - committed + 1) * d));
        this.stage(slot, keys[slot]!);
      }
    }
    for (let key = 0; key < this.nextKey; key++) {
      if (!this.owners.has(key) && this.index.contains(key)) this.index.remove(key);
    }
  }

  /** gives slot (its id, timestamp and pending vector already set) the key and stages it */
  private stage(slot: number, key: number): void {
    this.keys[slot] = key;
    this.owners.add(key, slot);
    this.staged.add(slot);
    this.uncommittedCount++;
  }

  /** Drops slot's current key (from the graph, staging or the running build); the id stays. */
  private retire(slot: number): void {
    const key = this.keys[slot]!;
    this.owners.delete(key);
    if (this.pending[slot]) {
      this.uncommittedCount--;
      // an entry of a running build is settled by finishBatch
      if (!this.staged.delete(slot)) this.deadInBuild++;
      return;
    }
    if (this.busy || this.pins > 0) this.doomed.push(key);
    else this.index.remove(key);
  }

  private takeSlot(): number {
    const reused = this.freeSlots.pop();
    if (reused !== undefined) return reused;
    this.reserve(this.used + 1);
    return this.used++;
  }

  private reserve(slots: number): void {
    if (slots <= this.keys.length) return;
    let cap = Math.max(MIN_SLOTS, this.keys.length);
    while (cap < slots) cap *= 2;
    const keys = new Float64Array(cap).fill(FREE);
    keys.set(this.keys);
    const stamps = new BigInt64Array(cap);
    stamps.set(this.stamps);
    this.keys = keys;
    this.stamps = stamps;
  }

  private entryAt(slot: number): Entry {
    return { key: this.keys[slot]!, timestamp: this.stamps[slot]!, pending: this.pending[slot] ?? null };
  }

  private entryMap(): EntryMap {
    const store = this;
    return {
      get size() {
        return store.slotOf.size;
      },
      get: (id) => {
        const slot = this.slotOf.get(id);
        return slot < 0 ? undefined : this.entryAt(slot);
      },
      has: (id) => this.slotOf.get(id) >= 0,
      *[Symbol.iterator]() {
        // by slot; a slot freed and reused meanwhile shows its new id if not yet passed
        for (let slot = 0; slot < store.used; slot++) {
          const id = store.ids[slot];
          if (id !== undefined) yield [id, store.entryAt(slot)] as [string, Entry];
        }
      },
    };
  }
}
