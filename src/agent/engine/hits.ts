// Merging graph hits with exact hits over uncommitted vectors into one answer.
import type { Hit } from "./types";

/** Collects candidate hits, keeping one (the nearest) per id, then cuts to the k nearest. */
export class HitCollector {
  private readonly best = new Map<string, number>();

  constructor(private readonly radius: number) {}

  offer(id: string, distance: number): void {
    if (this.radius > 0 && Number.isFinite(this.radius) && distance > this.radius) return;
    const seen = this.best.get(id);
    if (seen === undefined || distance < seen) this.best.set(id, distance);
  }

  top(k: number): Hit[] {
    const hits: Hit[] = [];
    for (const [id, distance] of this.best) hits.push({ id, distance });
    hits.sort((a, b) => a.distance - b.distance || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return hits.length > k ? hits.slice(0, k) : hits;
  }
}
