// WAL framing and the group-commit writer, below the engine.
import { afterEach, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { decodePayload, encodeRecord, encodeSeal, readFrames, type WalRecord } from "../../../src/agent/engine/wal-record";
import { listSegments, readSegment } from "../../../src/agent/engine/wal-segment";
import { WalWriter } from "../../../src/agent/engine/wal-writer";
import { tempDir, vectorFor } from "./helpers";

const D = 4;
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const records: WalRecord[] = [
  { kind: "put", id: "a", timestamp: 12n, vector: vectorFor(1, D) },
  { kind: "put", id: "ünïcødé-id ✓", timestamp: -5n, vector: vectorFor(2, D) },
  { kind: "remove", id: "a" },
  { kind: "timestamp", id: "b", timestamp: 1_700_000_000_000_000_000n },
  { kind: "flush" },
];

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function decodeAll(body: Uint8Array): { decoded: WalRecord[]; torn: boolean } {
  const decoded: WalRecord[] = [];
  const frames = readFrames(body);
  for (;;) {
    const next = frames.next();
    if (next.done) return { decoded, torn: next.value.torn };
    decoded.push(decodePayload(next.value, D));
  }
}

test("records round-trip", () => {
  expect(decodeAll(concat(records.map(encodeRecord)))).toEqual({ decoded: records, torn: false });
});

test("reading stops at a short or corrupt frame", () => {
  const body = concat(records.map(encodeRecord));
  for (let cut = 1; cut < body.length; cut += 7) {
    const { decoded, torn } = decodeAll(body.subarray(0, body.length - cut));
    expect(torn).toBe(true);
    expect(decoded).toEqual(records.slice(0, decoded.length));
  }
  const flipped = body.slice();
  const secondPayload = encodeRecord(records[0]!).length + 12;
  flipped[secondPayload] = flipped[secondPayload]! ^ 0xff;
  expect(decodeAll(flipped)).toEqual({ decoded: records.slice(0, 1), torn: true });
});

test("appends and a rotation keep their order, each in its segment", async () => {
  const dir = tempDir();
  cleanups.push(dir.cleanup);
  const wal = new WalWriter(dir.path, 7, D);
  const first = records.map((r) => wal.append([r]));
  const { seq, retired } = wal.rotate();
  const second = wal.append([records[2]!]);
  await Promise.all([...first, retired, second]);
  await wal.close();
  expect(seq).toBe(8);
  const segments = listSegments(dir.path);
  expect(segments.map((s) => s.seq)).toEqual([7, 8]);
  // both segments were closed: each ends with a seal counting its records
  const size = (rs: WalRecord[]) => 16 + rs.reduce((n, r) => n + encodeRecord(r).length, 0) + encodeSeal(0).length;
  expect(readSegment(segments[0]!.path, D)).toEqual({ records, sealed: true, bytes: size(records), end: size(records), headless: false, damage: null });
  expect(readSegment(segments[1]!.path, D)).toMatchObject({ records: [records[2]!], sealed: true, damage: null });
  expect(readFileSync(segments[1]!.path).length).toBe(size([records[2]!]));
  expect(() => readSegment(segments[0]!.path, D + 1)).toThrow("--dimension=4");
});
