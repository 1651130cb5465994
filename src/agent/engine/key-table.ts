// Graph key → store slot, as an open-addressing hash table of slot numbers: the keys
// themselves stay in the store's by-slot array, so a pair costs one Int32 cell. The
// store asks it for every graph hit and holds one pair per live vector; a Map of
// numbers costs several words per pair, and an array indexed by key would grow
// without bound because keys are never reused (store.ts).

const EMPTY = -1;
const MIN_CAPACITY = 1024;
/** grow beyond this fill; linear probing stays short below it */
const MAX_LOAD = 0.7;

export class KeyTable {
  private cells = new Int32Array(MIN_CAPACITY).fill(EMPTY);
  private mask = MIN_CAPACITY - 1;
  private count = 0;

  /** `keyOf`: the key a slot holds (the store's by-slot array) */
  constructor(private readonly keyOf: (slot: number) => number) {}

  get size(): number {
    return this.count;
  }

  /** the slot holding key, or -1 */
  get(key: number): number {
    const cells = this.cells;
    for (let i = this.home(key); ; i = (i + 1) & this.mask) {
      const slot = cells[i]!;
      if (slot === EMPTY) return -1;
      if (this.keyOf(slot) === key) return slot;
    }
  }

  has(key: number): boolean {
    return this.get(key) !== -1;
  }

  /** Adds key, which must not be in the table, at slot (keyOf(slot) must already answer key). */
  add(key: number, slot: number): void {
    if (this.count + 1 > MAX_LOAD * (this.mask + 1)) this.resize((this.mask + 1) * 2);
    this.place(key, slot);
    this.count++;
  }

  /** Removes key (call while keyOf still answers it for its slot). */
  delete(key: number): boolean {
    const cells = this.cells;
    const mask = this.mask;
    let i = this.home(key);
    for (; ; i = (i + 1) & mask) {
      const slot = cells[i]!;
      if (slot === EMPTY) return false;
      if (this.keyOf(slot) === key) break;
    }
    // Backward-shift deletion: later members of the probe run move up into the hole, so
    // lookups never need tombstones and a churning table does not fill with them.
    let hole = i;
    for (let j = (i + 1) & mask; cells[j] !== EMPTY; j = (j + 1) & mask) {
      const home = this.home(this.keyOf(cells[j]!));
      // j may fill the hole unless its home lies cyclically in (hole, j]
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      cells[hole] = cells[j]!;
      hole = j;
    }
    cells[hole] = EMPTY;
    this.count--;
    return true;
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

  private place(key: number, slot: number): void {
    const cells = this.cells;
    let i = this.home(key);
    while (cells[i] !== EMPTY) i = (i + 1) & this.mask;
    cells[i] = slot;
  }

  private home(key: number): number {
    // keys are mostly consecutive integers: mix both 32-bit halves so runs spread out
    const lo = key >>> 0;
    const hi = (key / 4294967296) >>> 0;
    let h = Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1);
    h ^= h >>> 16;
    return h & this.mask;
  }

  private resize(capacity: number): void {
    const old = this.cells;
    this.cells = new Int32Array(capacity).fill(EMPTY);
    this.mask = capacity - 1;
    for (let i = 0; i < old.length; i++) {
      const slot = old[i]!;
      if (slot !== EMPTY) this.place(this.keyOf(slot), slot);
    }
  }
}
