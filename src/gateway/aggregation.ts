// Merging agents' search results: each agent answers nearest-first, so a k-way merge
// over the lists' heads (a binary heap of at most one entry per agent) yields the
// global order in O(num · log agents). Replicas return the same id more than once;
// the first (nearest) occurrence wins.
import { create } from "@bufbuild/protobuf";
import { Object_DistanceSchema, type Object_Distance } from "../gen/payload/v1/payload_pb";

interface Head {
  list: readonly Object_Distance[];
  pos: number;
  /** agent order, so equal distances merge deterministically */
  src: number;
}

function less(a: Head, b: Head): boolean {
  const da = a.list[a.pos]!.distance;
  const db = b.list[b.pos]!.distance;
  return da < db || (da === db && a.src < b.src);
}

function isSorted(list: readonly Object_Distance[]): boolean {
  for (let i = 1; i < list.length; i++) if (list[i]!.distance < list[i - 1]!.distance) return false;
  return true;
}

/** Top `num` distinct ids over all lists, nearest first (num <= 0: everything). */
export function mergeResults(lists: readonly (readonly Object_Distance[])[], num: number): Object_Distance[] {
  const limit = num > 0 ? num : Number.POSITIVE_INFINITY;
  const heap: Head[] = [];
  lists.forEach((l, src) => {
    if (l.length === 0) return;
    // Agents sort their answers; a copy is sorted only if one did not (cheap check).
    heap.push({ list: isSorted(l) ? l : [...l].sort((a, b) => a.distance - b.distance), pos: 0, src });
  });
  if (heap.length === 1 && heap[0]!.list.length <= limit) return dedupe(heap[0]!.list);
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i);
  const out: Object_Distance[] = [];
  const seen = new Set<string>();
  while (heap.length > 0 && out.length < limit) {
    const top = heap[0]!;
    const item = top.list[top.pos]!;
    if (!seen.has(item.id)) {
      seen.add(item.id);
      out.push(item);
    }
    top.pos++;
    if (top.pos === top.list.length) {
      const last = heap.pop()!;
      if (heap.length === 0) break;
      heap[0] = last;
    }
    siftDown(heap, 0);
  }
  return out;
}

function dedupe(list: readonly Object_Distance[]): Object_Distance[] {
  const seen = new Set<string>();
  const out: Object_Distance[] = [];
  for (const d of list) {
    if (seen.has(d.id)) continue;
    seen.add(d.id);
    out.push(d);
  }
  return out;
}

function siftDown(heap: Head[], i: number): void {
  const n = heap.length;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < n && less(heap[l]!, heap[m]!)) m = l;
    if (r < n && less(heap[r]!, heap[m]!)) m = r;
    if (m === i) return;
    const t = heap[i]!;
    heap[i] = heap[m]!;
    heap[m] = t;
    i = m;
  }
}

/** helper for tests and callers building results by hand */
export function distance(id: string, d: number): Object_Distance {
  return create(Object_DistanceSchema, { id, distance: d });
}
