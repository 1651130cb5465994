// Shared test scaffolding: engine options, temp dirs, deterministic vectors, brute force.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConnectError, type Code } from "@connectrpc/connect";
import { expect } from "bun:test";
import { createEngine, type Engine, type EngineOptions } from "../../../src/agent/engine";
import type { Metric } from "../../../src/index/types";

export function engineOptions(overrides: Partial<EngineOptions> = {}): EngineOptions {
  return {
    name: "agent-test",
    ips: ["127.0.0.1"],
    dimension: 8,
    metric: "l2sq",
    quantization: "f32",
    connectivity: 16,
    expansionAdd: 64,
    expansionSearch: 64,
    simd: "auto",
    createIndexThreshold: 0,
    checkIndexIntervalMs: 0,
    saveIntervalMs: 0,
    indexThreads: 0,
    ...overrides,
  };
}

export function openEngine(overrides: Partial<EngineOptions> = {}): Promise<Engine> {
  return createEngine(engineOptions(overrides), { onBackgroundError: (what, err) => console.error(what, err) });
}

export function tempDir(): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), "alvd-engine-"));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** A deterministic pseudo-random vector for seed (the same in every process). */
export function vectorFor(seed: number, dimension: number): Float32Array {
  let s = (seed * 2654435761 + 12345) >>> 0;
  const v = new Float32Array(dimension);
  for (let i = 0; i < dimension; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = s / 2 ** 32 - 0.5;
  }
  return v;
}

export function bruteForce(
  data: Map<string, Float32Array>,
  query: Float32Array,
  metric: Metric,
  k: number,
): { id: string; distance: number }[] {
  const out: { id: string; distance: number }[] = [];
  for (const [id, v] of data) {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    let l2 = 0;
    for (let i = 0; i < v.length; i++) {
      ab += v[i]! * query[i]!;
      aa += v[i]! * v[i]!;
      bb += query[i]! * query[i]!;
      l2 += (v[i]! - query[i]!) ** 2;
    }
    const distance = metric === "l2sq" ? Math.sqrt(l2) : metric === "cos" ? 1 - ab / Math.sqrt(aa * bb) : 1 - ab;
    out.push({ id, distance });
  }
  out.sort((a, b) => a.distance - b.distance);
  return out.slice(0, k);
}

export async function expectCode(promise: Promise<unknown> | (() => unknown), code: Code): Promise<ConnectError> {
  let caught: unknown;
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConnectError);
  expect((caught as ConnectError).code).toBe(code);
  return caught as ConnectError;
}

export const ALL = { num: 1000, radius: -1, expansion: 0 };
