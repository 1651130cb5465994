// Merging graph hits with exact hits over uncommitted vectors into one answer.
import type { Hit } from "./types";

/**
 * Collects candidate hits, then keeps the nearest one per id and cuts to the k nearest.
 * Candidates carry their index key so hits whose vector was removed or replaced while
 * the search ran can be dropped at the end. Kept in flat arrays: a search offers about
 * k candidates, and an object and a map entry per candidate cost more than the sort.
 */
export class HitCollector {
  private readonly ids: string[] = [];
  private readonly keys: number[] = [];
  private readonly distances: number[] = [];

  constructor(private readonly radius: number) {}

  offer(id: string, key: number, distance: number): void {
    if (this.radius > 0 && Number.isFinite(this.radius) && distance > this.radius) return;
    this.ids.push(id);
    this.keys.push(key);
    this.distances.push(distance);
  }

  top(k: number, live: (id: string, key: number) => boolean): Hit[] {
    const { ids, keys, distances } = this;
    if (this.inOrder()) {
      // the usual case, graph hits alone: the index answered nearest first, one per key
      const hits: Hit[] = [];
      for (let i = 0; i < ids.length && hits.length < k; i++) {
        const id = ids[i]!;
        if (live(id, keys[i]!)) hits.push({ id, distance: distances[i]! });
      }
      return hits;
    }
    const order: number[] = [];
    for (let i = 0; i < ids.length; i++) if (live(ids[i]!, keys[i]!)) order.push(i);
    // nearest first; equal distances by id, so answers do not depend on arrival order
    order.sort((a, b) => distances[a]! - distances[b]! || (ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : 0));
    const hits: Hit[] = [];
    // the first time an id shows up in that order is its nearest candidate
    const seen = new Set<string>();
    for (const i of order) {
      if (hits.length >= k) break;
      const id = ids[i]!;
      if (seen.has(id)) continue;
      seen.add(id);
      hits.push({ id, distance: distances[i]! });
    }
    return hits;
  }

  /** already in answer order (as top sorts) with no id twice; small lists only (the id check is quadratic) */
  private inOrder(): boolean {
    const { ids, distances } = this;
    if (ids.length > 64) return false;
    for (let i = 1; i < ids.length; i++) {
      const d = distances[i - 1]! - distances[i]!;
      if (d > 0 || (d === 0 && ids[i - 1]! >= ids[i]!) || Number.isNaN(d)) return false;
    }
    for (let i = 1; i < ids.length; i++) {
      for (let j = 0; j < i; j++) if (ids[j] === ids[i]) return false;
    }
    return true;
  }
}
