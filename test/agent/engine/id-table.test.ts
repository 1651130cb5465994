import { expect, test } from "bun:test";
import { IdTable } from "../../../src/agent/engine/id-table";

test("an IdTable answers like a Map through growth, slot reuse and deletions inside probe runs", () => {
  const ids: (string | undefined)[] = [];
  const free: number[] = [];
  const table = new IdTable((slot) => ids[slot]);
  const ref = new Map<string, number>();
  let s = 11;
  const rand = (n: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % n);
  // short numeric ids, long shared prefixes and non-ASCII ones
  const idFor = (n: number) => (n % 3 === 0 ? String(n) : n % 3 === 1 ? `tenant-a/object-${n}` : `ключ-${n}-🙂`);
  let next = 0;
  for (let step = 0; step < 150_000; step++) {
    if (rand(10) < 6 || ref.size === 0) {
      const id = idFor(next++);
      const slot = free.pop() ?? ids.length;
      ids[slot] = id;
      table.add(id, slot);
      ref.set(id, slot);
    } else {
      const id = idFor(rand(next));
      const slot = ref.get(id);
      expect(table.delete(id)).toBe(slot ?? -1);
      if (slot !== undefined) {
        ref.delete(id);
        ids[slot] = undefined;
        free.push(slot);
      }
    }
  }
  expect(table.size).toBe(ref.size);
  for (const [id, slot] of ref) expect(table.get(id)).toBe(slot);
  for (let n = 0; n < next; n++) if (!ref.has(idFor(n))) expect(table.get(idFor(n))).toBe(-1);
  table.clear();
  expect(table.size).toBe(0);
  expect(table.get("0")).toBe(-1);
});
