// A map from a store's keys (ids, graph keys) to store slots, as an open-addressing hash
// table of slot numbers: the keys themselves stay in the store's by-slot arrays, so a
// pair costs one Int32 cell where a Map costs several words, and the agent holds one
// pair per vector. Subclasses say how a key hashes.

const EMPTY = -1;
const MIN_CAPACITY = 1024;
/** grow beyond this fill; linear probing stays short below it */
const MAX_LOAD = 0.7;

export abstract class SlotTable<K> {
  private cells = new Int32Array(MIN_CAPACITY).fill(EMPTY);
  /** capacity - 1 (capacity is a power of two): home() ands its hash with it */
  protected mask = MIN_CAPACITY - 1;
  private count = 0;

  /** `keyAt`: the key a slot holds (the store's by-slot array) */
  constructor(private readonly keyAt: (slot: number) => K | undefined) {}

  /** the key's first cell */
  protected abstract home(key: K): number;

  get size(): number {
    return this.count;
  }

  /** the slot holding key, or -1 */
  get(key: K): number {
    const cells = this.cells;
    for (let i = this.home(key); ; i = (i + 1) & this.mask) {
      const slot = cells[i]!;
      if (slot === EMPTY) return -1;
      if (this.keyAt(slot) === key) return slot;
    }
  }

  /** Adds key, which must not be in the table, at slot (keyAt(slot) must already answer key). */
  add(key: K, slot: number): void {
    if (this.count + 1 > MAX_LOAD * (this.mask + 1)) this.resize((this.mask + 1) * 2);
    this.place(key, slot);
    this.count++;
  }

  /** Removes key (call while keyAt still answers it for its slot); returns its slot or -1. */
  protected take(key: K): number {
    const cells = this.cells;
    const mask = this.mask;
    let i = this.home(key);
    for (; ; i = (i + 1) & mask) {
      const slot = cells[i]!;
      if (slot === EMPTY) return -1;
      if (this.keyAt(slot) === key) break;
    }
    const found = cells[i]!;
    // Backward-shift deletion: later members of the probe run move up into the hole, so
    // lookups never need tombstones and a churning table does not fill with them.
    let hole = i;
    for (let j = (i + 1) & mask; cells[j] !== EMPTY; j = (j + 1) & mask) {
      const home = this.home(this.keyAt(cells[j]!)!);
      // j may fill the hole unless its home lies cyclically in (hole, j]
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      cells[hole] = cells[j]!;
      hole = j;
    }
    cells[hole] = EMPTY;
    this.count--;
    return found;
  }

  clear(): void {
    this.cells = new Int32Array(MIN_CAPACITY).fill(EMPTY);
    this.mask = MIN_CAPACITY - 1;
    this.count = 0;
  }

  /** Makes room for `n` pairs at once (a restore knows its size up front). */
  reserve(n: number): void {
    let cap = this.mask + 1;
    while (n > MAX_LOAD * cap) cap *= 2;
    if (cap !== this.mask + 1) this.resize(cap);
  }

  private place(key: K, slot: number): void {
    const cells = this.cells;
    let i = this.home(key);
    while (cells[i] !== EMPTY) i = (i + 1) & this.mask;
    cells[i] = slot;
  }

  private resize(capacity: number): void {
    const old = this.cells;
    this.cells = new Int32Array(capacity).fill(EMPTY);
    this.mask = capacity - 1;
    for (let i = 0; i < old.length; i++) {
      const slot = old[i]!;
      if (slot !== EMPTY) this.place(this.keyAt(slot)!, slot);
    }
  }
}
