// Stress: every AnnIndex method hammered from JS while an addAsync adds vectors on
// native threads. The native layer must never crash whatever JS does (CI once saw a
// segfault at address 0x0 when exactSearch ran beside a build), and every answer must
// be sane: counts within the size, keys that exist, exact top-1 of an old vector is itself.

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openIndex } from "../../src/index/addon.ts";
import type { AnnIndex, IndexOptions, SearchHits, SimdMode } from "../../src/index/types.ts";
import { randomVectors, rng } from "./vectors.ts";

const d = 24;
const options: IndexOptions = {
  dimensions: d,
  metric: "l2sq",
  quantization: "f32",
  connectivity: 12,
  expansionAdd: 48,
  expansionSearch: 32,
};

/** vectors in the index before the build starts: keys 0..OLD-1 */
const OLD = 400;
/** vectors added by each build: keys NEW_BASE + i */
const NEW = 2500;
const NEW_BASE = 1_000_000;
const ROUNDS = 6;

const tmp = mkdtempSync(join(tmpdir(), "alvd-concurrency-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const row = (v: Float32Array, i: number) => v.subarray(i * d, (i + 1) * d);
const isOld = (k: number) => Number.isInteger(k) && k >= 0 && k < OLD;
const isNew = (k: number, added: number) => Number.isInteger(k) && k >= NEW_BASE && k < NEW_BASE + added;

interface Tally {
  exact: number;
  sync: number;
  async: number;
  gets: number;
  sizes: number;
}

/**
 * Runs one addAsync of NEW vectors (2 threads) on `index` and, until it settles, keeps
 * every other read method busy. `old` holds the OLD vectors already in the index (none
 * when it starts empty). Returns how many calls of each kind ran beside the build.
 */
async function hammer(index: AnnIndex, old: Float32Array | undefined, fresh: Float32Array, round: number) {
  const oldCount = old ? OLD : 0;
  const keys = Float64Array.from({ length: NEW }, (_, i) => NEW_BASE + round * NEW + i);
  const added = (round + 1) * NEW; // keys valid by the end of this build
  const valid = (k: number) => (oldCount > 0 && isOld(k)) || isNew(k, added);
  const tally: Tally = { exact: 0, sync: 0, async: 0, gets: 0, sizes: 0 };
  const r = rng(1000 + round);
  const pick = (n: number) => Math.floor(r() * n);

  const check = (hits: SearchHits, k: number, size: number) => {
    expect(hits.count).toBeLessThanOrEqual(k);
    expect(hits.count).toBeLessThanOrEqual(size);
    for (let j = 0; j < hits.count; j++) {
      if (!valid(hits.keys[j]!)) throw new Error(`hit ${j} has key ${hits.keys[j]} that was never added`);
      if (j > 0) expect(hits.distances[j]!).toBeGreaterThanOrEqual(hits.distances[j - 1]!);
    }
  };

  let done = false;
  let lastSize = index.size();
  const building = index.addAsync(keys, fresh, 2).finally(() => (done = true));
  const pending: Promise<void>[] = [];
  while (!done) {
    for (let burst = 0; burst < 8 && !done; burst++) {
      const size = index.size();
      expect(size).toBeGreaterThanOrEqual(lastSize);
      expect(size).toBeLessThanOrEqual(oldCount + added);
      lastSize = size;
      tally.sizes++;

      // exact search: an old vector is its own nearest neighbour, at distance 0
      if (old) {
        const i = pick(OLD);
        const hits = index.exactSearch(row(old, i), 5);
        check(hits, 5, index.size());
        expect(hits.count).toBe(5);
        expect(hits.keys[0]).toBe(i);
        expect(hits.distances[0]).toBe(0);
        tally.exact++;
      }
      // exact search for a vector of the running build: a full answer, and once the
      // vector is in (nothing is ever removed here) it comes first at distance 0
      {
        const i = pick(NEW);
        const inBefore = index.contains(keys[i]!);
        const before = index.size();
        const hits = index.exactSearch(row(fresh, i), 3);
        check(hits, 3, index.size());
        // the index only grows meanwhile: at least what was there when the search began
        expect(hits.count).toBeGreaterThanOrEqual(Math.min(3, before));
        if (inBefore) {
          expect(hits.keys[0]).toBe(keys[i]!);
          expect(hits.distances[0]).toBe(0);
        }
        tally.exact++;
      }
      // graph search, sync and async: full answers (searches get in only between whole adds)
      {
        const q = old && r() < 0.5 ? row(old, pick(OLD)) : row(fresh, pick(NEW));
        const before = index.size();
        const sync = index.search(q, 10, 40);
        check(sync, 10, index.size());
        expect(sync.count).toBeGreaterThanOrEqual(Math.min(10, before));
        tally.sync++;
        const copy = q.slice();
        const asyncBefore = index.size();
        pending.push(
          index.searchAsync(copy, 5).then((h) => {
            check(h, 5, index.size());
            expect(h.count).toBeGreaterThanOrEqual(Math.min(5, asyncBefore));
            tally.async++;
          }),
        );
      }
      // get: old vectors are returned as stored; new ones are absent or exact
      if (old) {
        const i = pick(OLD);
        expect(Array.from(index.get(i)!)).toEqual(Array.from(row(old, i)));
        expect(index.contains(i)).toBe(true);
      }
      {
        const i = pick(NEW);
        const got = index.get(keys[i]!);
        if (got) expect(Array.from(got)).toEqual(Array.from(row(fresh, i)));
        tally.gets++;
      }
      expect(index.memoryUsage()).toBeGreaterThan(0);
    }
    // let the add's completion (and the async searches) reach JS
    await Bun.sleep(0);
  }
  await building;
  await Promise.all(pending);
  expect(index.size()).toBe(oldCount + added);
  return tally;
}

const modes: SimdMode[] = ["auto", "plain"];

describe.each(modes)("concurrency, flavour %s", (mode) => {
  test("exact/graph search, get, size and memoryUsage beside a running addAsync", async () => {
    const index = openIndex(options, mode);
    const old = randomVectors(OLD, d, 1);
    await index.addAsync(Float64Array.from({ length: OLD }, (_, i) => i), old, 2);
    const totals: Tally = { exact: 0, sync: 0, async: 0, gets: 0, sizes: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const t = await hammer(index, old, randomVectors(NEW, d, 100 + round), round);
      for (const k of Object.keys(totals) as (keyof Tally)[]) totals[k] += t[k];
    }
    // the reads really overlapped the builds
    expect(totals.exact).toBeGreaterThan(ROUNDS * 4);
    expect(totals.async).toBeGreaterThan(ROUNDS * 2);
    // once built, every old vector is found again: what HNSW itself leaves unreachable the
    // index links again or scans (native/reachability.hpp), so a vector missed even at an
    // ef as large as the graph means a racing read tore the build
    const missed: number[] = [];
    for (let i = 0; i < OLD; i++) {
      if (index.search(row(old, i), 1, 64).keys[0] !== i && index.search(row(old, i), 1, index.size()).keys[0] !== i) missed.push(i);
    }
    expect(missed).toEqual([]);
  }, 60_000);

  test("reads from the very first vector on, when the build starts on an empty index", async () => {
    for (let round = 0; round < 5; round++) {
      const index = openIndex(options, mode);
      await hammer(index, undefined, randomVectors(NEW, d, 200 + round), 0);
    }
  }, 60_000);

  test("saveAsync and a second addAsync issued during a build wait for it natively", async () => {
    const index = openIndex(options, mode);
    const old = randomVectors(OLD, d, 3);
    await index.addAsync(Float64Array.from({ length: OLD }, (_, i) => i), old, 2);
    const fresh = randomVectors(NEW, d, 4);
    const more = randomVectors(NEW, d, 5);
    const path = join(tmp, `during-build-${mode}.usearch`);
    // Not something the engine does, but the addon must not crash or save half-written slots.
    const first = index.addAsync(Float64Array.from({ length: NEW }, (_, i) => NEW_BASE + i), fresh, 2);
    const saving = index.saveAsync(path);
    const second = index.addAsync(Float64Array.from({ length: NEW }, (_, i) => NEW_BASE + NEW + i), more, 2);
    const exact = index.exactSearch(row(old, 7), 1);
    expect(exact.keys[0]).toBe(7);
    await Promise.all([first, saving, second]);
    expect(index.size()).toBe(OLD + 2 * NEW);
    const copy = openIndex(options, mode);
    copy.load(path);
    // the file holds whole builds only
    expect([OLD, OLD + NEW, OLD + 2 * NEW]).toContain(copy.size());
    for (let i = 0; i < OLD; i += 37) {
      expect(copy.exactSearch(row(old, i), 1).keys[0]).toBe(i);
      expect(Array.from(copy.get(i)!)).toEqual(Array.from(row(old, i)));
    }
  }, 60_000);
});
