// Graph key → store slot (slot-table.ts). The store asks it for every graph hit; an
// array indexed by key would grow without bound because keys are never reused (store.ts).
import { SlotTable } from "./slot-table";

export class KeyTable extends SlotTable<number> {
  has(key: number): boolean {
    return this.get(key) !== -1;
  }

  /** Removes key (call while the store still answers it for its slot). */
  delete(key: number): boolean {
    return this.take(key) !== -1;
  }

  protected home(key: number): number {
    // keys are mostly consecutive integers: mix both 32-bit halves so runs spread out
    const lo = key >>> 0;
    const hi = (key / 4294967296) >>> 0;
    let h = Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1);
    h ^= h >>> 16;
    return h & this.mask;
  }
}
