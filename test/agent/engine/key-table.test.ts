import { expect, test } from "bun:test";
import { KeyTable } from "../../../src/agent/engine/key-table";

test("a KeyTable answers like a Map through growth, churn and deletions inside probe runs", () => {
  const table = new KeyTable();
  const ref = new Map<number, number>();
  let s = 7;
  const rand = (n: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % n);
  let next = 0;
  for (let step = 0; step < 200_000; step++) {
    const r = rand(10);
    if (r < 5 || ref.size === 0) {
      // mostly fresh keys, like the store's counter, some far above 2^32
      const key = rand(50) === 0 ? 2 ** 40 + next++ : next++;
      table.set(key, step);
      ref.set(key, step);
    } else if (r < 9) {
      const key = rand(next);
      expect(table.delete(key)).toBe(ref.delete(key));
    } else {
      const key = rand(next);
      if (ref.has(key)) {
        table.set(key, -step & 0x7fffffff);
        ref.set(key, -step & 0x7fffffff);
      }
    }
  }
  expect(table.size).toBe(ref.size);
  for (const [k, v] of ref) expect(table.get(k)).toBe(v);
  for (let k = 0; k < next; k++) if (!ref.has(k)) expect(table.has(k)).toBe(false);
  table.clear();
  expect(table.size).toBe(0);
  expect(table.get(0)).toBe(-1);
});
