// HitCollector answers nearest first, ties by id, one hit per id (its nearest), only
// live candidates, at most k. The already-ordered fast path must give exactly what the
// general path gives: candidates are checked against a plain reference on random input,
// both in index order (the fast path) and shuffled (the general one).
import { describe, expect, test } from "bun:test";
import { HitCollector } from "../../../src/agent/engine/hits";

interface Candidate {
  id: string;
  key: number;
  distance: number;
}

function reference(cands: Candidate[], k: number, radius: number, live: (id: string, key: number) => boolean) {
  const kept = cands.filter((c) => !(radius > 0 && c.distance > radius) && live(c.id, c.key));
  kept.sort((a, b) => a.distance - b.distance || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const seen = new Set<string>();
  const out: { id: string; distance: number }[] = [];
  for (const c of kept) {
    if (out.length >= k) break;
    if (seen.has(c.id)) continue;
    seen.add(c.id);
    out.push({ id: c.id, distance: c.distance });
  }
  return out;
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

function collect(cands: Candidate[], radius: number, k: number, live: (id: string, key: number) => boolean) {
  const c = new HitCollector(radius);
  for (const x of cands) c.offer(x.id, x.key, x.distance);
  return c.top(k, live);
}

describe("HitCollector", () => {
  test("random candidates, in index order and shuffled, give the reference answer", () => {
    const r = rng(7);
    for (let round = 0; round < 2000; round++) {
      const n = Math.floor(r() * 40);
      const ids = Math.max(1, Math.floor(r() * 30));
      // few distinct distances so ties are common
      const cands: Candidate[] = Array.from({ length: n }, (_, i) => ({ id: `v${Math.floor(r() * ids)}`, key: i, distance: Math.floor(r() * 8) / 2 }));
      const dead = new Set(cands.filter(() => r() < 0.15).map((c) => c.key));
      const live = (_id: string, key: number) => !dead.has(key);
      const k = 1 + Math.floor(r() * 12);
      const radius = r() < 0.2 ? 2 : 0;
      const want = reference(cands, k, radius, live);
      const ordered = [...cands].sort((a, b) => a.distance - b.distance || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      expect(collect(ordered, radius, k, live)).toEqual(want);
      expect(collect(cands, radius, k, live)).toEqual(want);
    }
  });

  test("an id offered twice keeps its nearest candidate, even when the lists look ordered", () => {
    const hits = collect(
      [
        { id: "a", key: 1, distance: 0.5 },
        { id: "b", key: 2, distance: 1 },
        { id: "a", key: 3, distance: 2 },
      ],
      0,
      10,
      () => true,
    );
    expect(hits).toEqual([
      { id: "a", distance: 0.5 },
      { id: "b", distance: 1 },
    ]);
  });

  test("equal distances come out by id whatever the arrival order", () => {
    const hits = collect(
      [
        { id: "z", key: 1, distance: 1 },
        { id: "m", key: 2, distance: 1 },
        { id: "a", key: 3, distance: 1 },
      ],
      0,
      2,
      () => true,
    );
    expect(hits.map((h) => h.id)).toEqual(["a", "m"]);
  });
});
