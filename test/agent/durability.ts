// Shared by the fault tests of real agents: a known data set written through gRPC,
// a check that every acknowledged vector came back, ways to damage files, and what a
// refused start must look like (one line naming the file and the --recover choices).
import { closeSync, openSync, readFileSync, readdirSync, statSync, truncateSync, writeSync } from "node:fs";
import { join } from "node:path";
import { expect } from "bun:test";
import { Agent } from "../../src/gen/core/v1/agent_pb";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { Object$ } from "../../src/gen/vald/v1/object_pb";
import { type FailedStart, GrpcJs, vectors } from "./harness";

export const DIM = 16;

export interface Item {
  id: string;
  vector: number[];
}

/** `count` items named prefix-0 … with vectors from `seed` */
export function items(prefix: string, count: number, seed: number): Item[] {
  return vectors(count, DIM, seed).map((vector, i) => ({ id: `${prefix}-${i}`, vector }));
}

/** inserts through MultiInsert: acknowledged means durable */
export async function insertAll(rpc: GrpcJs, list: Item[]): Promise<void> {
  await rpc.unary(Insert.method.multiInsert, { requests: list.map((it) => ({ vector: { id: it.id, vector: it.vector } })) });
}

export async function createAndSave(rpc: GrpcJs): Promise<void> {
  await rpc.unary(Agent.method.createAndSaveIndex, { poolSize: 0 });
}

/** every vector the agent holds, by id */
export async function holdings(rpc: GrpcJs): Promise<Map<string, number[]>> {
  const listed = await rpc.serverStream(Object$.method.streamListObject, {});
  const out = new Map<string, number[]>();
  for (const r of listed) if (r.payload.case === "vector") out.set(r.payload.value.id, r.payload.value.vector);
  return out;
}

/** The agent holds exactly `want` (ids and vectors), nothing missing, nothing extra. */
export async function expectHoldsExactly(rpc: GrpcJs, want: Item[]): Promise<void> {
  const held = await holdings(rpc);
  const missing = want.filter((it) => !held.has(it.id)).map((it) => it.id);
  expect(missing).toEqual([]);
  expect(held.size).toBe(want.length);
  for (const it of want) expect(held.get(it.id)).toEqual(it.vector);
  const info = await rpc.unary(Agent.method.indexInfo, {});
  // Vald's counts: committed by CreateIndex + still queued = every vector held
  expect(info.stored + info.uncommitted).toBe(want.length);
}

// ---- damage ------------------------------------------------------------------------

export type Damage = "truncated" | "zeroed" | "bit-flipped";

/** Damages a file in place the way a bad disk or a stray write would. */
export function damage(path: string, how: Damage): void {
  const size = statSync(path).size;
  if (how === "truncated") {
    truncateSync(path, Math.floor(size / 2));
    return;
  }
  const fd = openSync(path, "r+");
  try {
    if (how === "zeroed") {
      // a block in the middle reads back as zeros (a lost write, a bad sector)
      const at = Math.floor(size / 3);
      writeSync(fd, new Uint8Array(Math.min(4096, size - at)), 0, Math.min(4096, size - at), at);
    } else {
      const at = Math.floor(size / 2);
      const byte = new Uint8Array(readFileSync(path).subarray(at, at + 1));
      byte[0] = byte[0]! ^ 0x10;
      writeSync(fd, byte, 0, 1, at);
    }
  } finally {
    closeSync(fd);
  }
}

/** the files moved into <dir>/broken/<time>/ */
export function brokenFiles(dir: string): string[] {
  let out: string[] = [];
  try {
    for (const stamp of readdirSync(join(dir, "broken"))) out = out.concat(readdirSync(join(dir, "broken", stamp)));
  } catch {
    return [];
  }
  return out.sort();
}

/** The error of a refused start: exit 1, one last line, no stack; log lines before it are allowed. */
export function refusalLine(r: FailedStart): string {
  const lines = r.output.trim().split("\n");
  expect(r.code).toBe(1);
  expect(lines.filter((l) => l.startsWith("alvd: ")), r.output).toHaveLength(1);
  expect(lines.at(-1), r.output).toStartWith("alvd: failed to start: ");
  // everything else is a timestamped log line, never a stack frame
  for (const l of lines.slice(0, -1)) expect(l, r.output).toMatch(/^\d{4}-\d\d-\d\dT\S+ (DEBUG|INFO|WARN|ERROR) /);
  return lines.at(-1)!;
}

/** A refused start naming `file` and both --recover choices. */
export function expectRefusedNaming(r: FailedStart, file: string): void {
  const line = refusalLine(r);
  expect(line).toContain(file);
  expect(line).toContain("--recover=previous");
  expect(line).toContain("--recover=empty");
}
