// Merging graph hits with exact hits over uncommitted vectors into one answer.
import type { Hit } from "./types";

interface Candidate {
  key: number;
  distance: number;
}

/**
 * Collects candidate hits, keeping one (the nearest) per id, then cuts to the k
 * nearest. Candidates carry their index key so hits whose vector was removed or
 * replaced while the search ran can be dropped at the end.
 */
export class HitCollector {
  private readonly best = new Map<string, Candidate>();

  constructor(private readonly radius: number) {}

  offer(id: string, key: number, distance: number): void {
    if (this.radius > 0 && Number.isFinite(this.radius) && distance > this.radius) return;
    const seen = this.best.get(id);
    if (seen === undefined || distance < seen.distance) this.best.set(id, { key, distance });
  }

  top(k: number, live: (id: string, key: number) => boolean): Hit[] {
    const hits: Hit[] = [];
    for (const [id, c] of this.best) if (live(id, c.key)) hits.push({ id, distance: c.distance });
    hits.sort((a, b) => a.distance - b.distance || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return hits.length > k ? hits.slice(0, k) : hits;
  }
}
