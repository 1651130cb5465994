import { expect, test } from "bun:test";
import { KeyTable } from "../../../src/agent/engine/key-table";

test("a KeyTable answers like a Map through growth, slot reuse, rekeying and deletions inside probe runs", () => {
  const keys: number[] = [];
  const free: number[] = [];
  const table = new KeyTable((slot) => keys[slot]!);
  const ref = new Map<number, number>();
  let s = 7;
  const rand = (n: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % n);
  let next = 0;
  // mostly consecutive keys, like the store's counter, some far above 2^32
  const fresh = () => (rand(50) === 0 ? 2 ** 40 + next++ : next++);
  for (let step = 0; step < 200_000; step++) {
    const r = rand(10);
    if (r < 5 || ref.size === 0) {
      const key = fresh();
      const slot = free.pop() ?? keys.length;
      keys[slot] = key;
      table.add(key, slot);
      ref.set(key, slot);
    } else if (r < 9) {
      const key = rand(next);
      const slot = ref.get(key);
      expect(table.delete(key)).toBe(slot !== undefined);
      if (slot !== undefined) {
        ref.delete(key);
        keys[slot] = -1;
        free.push(slot);
      }
    } else {
      // a slot moves to a fresh key (a replaced vector keeps its slot)
      const old = rand(next);
      const slot = ref.get(old);
      if (slot === undefined) continue;
      table.delete(old);
      ref.delete(old);
      const key = fresh();
      keys[slot] = key;
      table.add(key, slot);
      ref.set(key, slot);
    }
  }
  expect(table.size).toBe(ref.size);
  for (const [k, v] of ref) expect(table.get(k)).toBe(v);
  for (let k = 0; k < next; k++) if (!ref.has(k)) expect(table.has(k)).toBe(false);
  table.clear();
  expect(table.size).toBe(0);
  expect(table.get(0)).toBe(-1);
});
