// Id → store slot, as an open-addressing hash table of slot numbers: the ids themselves
// stay in the store's by-slot array, so a pair costs one Int32 cell (a Map<string,
// number> costs several words per pair, and the agent holds one per vector).

const EMPTY = -1;
const MIN_CAPACITY = 1024;
/** grow beyond this fill; linear probing stays short below it */
const MAX_LOAD = 0.7;

export class IdTable {
  private cells = new Int32Array(MIN_CAPACITY).fill(EMPTY);
  private mask = MIN_CAPACITY - 1;
  private count = 0;
  /** per table, so which ids collide cannot be worked out once for every agent */
  private readonly seed = (Math.random() * 2 ** 32) >>> 0;

  /** `idOf`: the id a slot holds (the store's by-slot array) */
  constructor(private readonly idOf: (slot: number) => string | undefined) {}

  get size(): number {
    return this.count;
  }

  /** the slot of id, or -1 */
  get(id: string): number {
    const cells = this.cells;
    for (let i = this.home(id); ; i = (i + 1) & this.mask) {
      const slot = cells[i]!;
      if (slot === EMPTY) return -1;
      if (this.idOf(slot) === id) return slot;
    }
  }

  /** Adds id, which must not be in the table, at slot (idOf(slot) must already answer id). */
  add(id: string, slot: number): void {
    if (this.count + 1 > MAX_LOAD * (this.mask + 1)) this.resize((this.mask + 1) * 2);
    this.place(id, slot);
    this.count++;
  }

  /** Removes id (call while idOf still answers it for its slot); returns its slot or -1. */
  delete(id: string): number {
    const cells = this.cells;
    const mask = this.mask;
    let i = this.home(id);
    for (; ; i = (i + 1) & mask) {
      const slot = cells[i]!;
      if (slot === EMPTY) return -1;
      if (this.idOf(slot) === id) break;
    }
    const found = cells[i]!;
    // backward-shift deletion, as in key-table.ts: no tombstones
    let hole = i;
    for (let j = (i + 1) & mask; cells[j] !== EMPTY; j = (j + 1) & mask) {
      const home = this.home(this.idOf(cells[j]!)!);
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

  /** Makes room for `n` ids at once (a restore knows its size up front). */
  reserve(n: number): void {
    let cap = this.mask + 1;
    while (n > MAX_LOAD * cap) cap *= 2;
    if (cap !== this.mask + 1) this.resize(cap);
  }

  private place(id: string, slot: number): void {
    const cells = this.cells;
    let i = this.home(id);
    while (cells[i] !== EMPTY) i = (i + 1) & this.mask;
    cells[i] = slot;
  }

  private home(id: string): number {
    // FNV-1a over the UTF-16 code units, then a final mix so the low bits spread
    let h = (0x811c9dc5 ^ this.seed) | 0;
    for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    return h & this.mask;
  }

  private resize(capacity: number): void {
    const old = this.cells;
    this.cells = new Int32Array(capacity).fill(EMPTY);
    this.mask = capacity - 1;
    for (let i = 0; i < old.length; i++) {
      const slot = old[i]!;
      if (slot !== EMPTY) this.place(this.idOf(slot)!, slot);
    }
  }
}
