// Id → store slot (slot-table.ts), hashed with a per-table seed.
import { SlotTable } from "./slot-table";

export class IdTable extends SlotTable<string> {
  /** per table, so which ids collide cannot be worked out once for every agent */
  private readonly seed = (Math.random() * 2 ** 32) >>> 0;

  /** Removes id (call while the store still answers it for its slot); returns its slot or -1. */
  delete(id: string): number {
    return this.take(id);
  }

  protected home(id: string): number {
    // FNV-1a over the UTF-16 code units, then a final mix so the low bits spread
    let h = (0x811c9dc5 ^ this.seed) | 0;
    for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    return h & this.mask;
  }
}
