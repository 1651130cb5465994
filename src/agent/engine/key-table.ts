// Graph key → store slot, as an open-addressing hash table over two typed arrays. The
// store asks it for every graph hit and holds one pair per live vector; a Map of
// numbers costs about four times the memory per pair, and an array indexed by key
// would grow without bound because keys are never reused (store.ts).

const EMPTY = -1;
const MIN_CAPACITY = 1024;
/** grow beyond this fill; linear probing stays short below it */
const MAX_LOAD = 0.7;

export class KeyTable {
  private keys = new Float64Array(MIN_CAPACITY).fill(EMPTY);
  private slots = new Int32Array(MIN_CAPACITY);
  private mask = MIN_CAPACITY - 1;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** the slot stored for key, or -1 */
  get(key: number): number {
    const keys = this.keys;
    for (let i = this.home(key); ; i = (i + 1) & this.mask) {
      const k = keys[i]!;
      if (k === key) return this.slots[i]!;
      if (k === EMPTY) return -1;
    }
  }

  has(key: number): boolean {
    return this.get(key) !== -1;
  }

  /** key: a non-negative safe integer; slot: a non-negative int32 */
  set(key: number, slot: number): void {
    if ((this.count + 1) > MAX_LOAD * (this.mask + 1)) this.resize((this.mask + 1) * 2);
    const keys = this.keys;
    let i = this.home(key);
    for (; keys[i] !== EMPTY; i = (i + 1) & this.mask) {
      if (keys[i] === key) {
        this.slots[i] = slot;
        return;
      }
    }
    keys[i] = key;
    this.slots[i] = slot;
    this.count++;
  }

  delete(key: number): boolean {
    const keys = this.keys;
    const mask = this.mask;
    let i = this.home(key);
    for (; keys[i] !== key; i = (i + 1) & mask) if (keys[i] === EMPTY) return false;
    // Backward-shift deletion: later members of the probe run move up into the hole, so
    // lookups never need tombstones and a churning table does not fill with them.
    let hole = i;
    for (let j = (i + 1) & mask; keys[j] !== EMPTY; j = (j + 1) & mask) {
      const home = this.home(keys[j]!);
      // j may fill the hole unless its home lies cyclically in (hole, j]
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      keys[hole] = keys[j]!;
      this.slots[hole] = this.slots[j]!;
      hole = j;
    }
    keys[hole] = EMPTY;
    this.count--;
    return true;
  }

  clear(): void {
    this.keys = new Float64Array(MIN_CAPACITY).fill(EMPTY);
    this.slots = new Int32Array(MIN_CAPACITY);
    this.mask = MIN_CAPACITY - 1;
    this.count = 0;
  }

  /** Makes room for `n` pairs at once (a restore knows its size up front). */
  reserve(n: number): void {
    let cap = this.mask + 1;
    while (n > MAX_LOAD * cap) cap *= 2;
    if (cap !== this.mask + 1) this.resize(cap);
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
    const oldKeys = this.keys;
    const oldSlots = this.slots;
    this.keys = new Float64Array(capacity).fill(EMPTY);
    this.slots = new Int32Array(capacity);
    this.mask = capacity - 1;
    this.count = 0;
    for (let i = 0; i < oldKeys.length; i++) {
      const k = oldKeys[i]!;
      if (k !== EMPTY) this.set(k, oldSlots[i]!);
    }
  }
}
