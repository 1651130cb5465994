// decodeWithFloats must give what fromBinary gives, for any encoding a client may send:
// packed and unpacked floats, lists split over several runs, repeated message fields
// that merge, unknown fields, nesting. Compared on seeded random messages.
import { expect, test } from "bun:test";
import { create, equals, fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import {
  Insert_MultiRequestSchema,
  Object_VectorSchema,
  Search_MultiRequestSchema,
  Search_RequestSchema,
  Search_ResponseSchema,
} from "../../src/gen/payload/v1/payload_pb";
import { attachFloats, decodeWithFloats, encodeWithFloats, floatsOf } from "../../src/rpc/wire-floats";
import { rng } from "../fuzz/rng";

function same<D extends DescMessage>(desc: D, bytes: Uint8Array): MessageShape<D> {
  const ours = decodeWithFloats(desc, bytes);
  const theirs = fromBinary(desc, bytes);
  expect(equals(desc, ours, theirs)).toBe(true);
  expect(toBinary(desc, ours)).toEqual(toBinary(desc, theirs));
  // comparing read every field (settling them); the caller gets an untouched decode
  return decodeWithFloats(desc, bytes);
}

const vector = (r: () => number, d: number) => Array.from({ length: d }, () => Math.fround((r() - 0.5) * 1e3));

test("random Search, MultiSearch and MultiInsert requests decode exactly as fromBinary", () => {
  const g = rng(7);
  const r = () => g.next();
  for (let i = 0; i < 200; i++) {
    const d = 1 + Math.floor(r() * 300);
    const search = create(Search_RequestSchema, { vector: vector(r, d), config: { num: 1 + Math.floor(r() * 100), radius: -1, epsilon: r(), requestId: `q${i}` } });
    const got = same(Search_RequestSchema, toBinary(Search_RequestSchema, search));
    expect(floatsOf(got, "vector")).toEqual(new Float32Array(search.vector));
    const multi = create(Search_MultiRequestSchema, { requests: [search, create(Search_RequestSchema, { vector: vector(r, d) })] });
    same(Search_MultiRequestSchema, toBinary(Search_MultiRequestSchema, multi));
    const inserts = create(Insert_MultiRequestSchema, {
      requests: Array.from({ length: 1 + Math.floor(r() * 5) }, (_, j) => ({ vector: { id: `id-${i}-${j}`, vector: vector(r, d), timestamp: BigInt(j) }, config: { skipStrictExistCheck: r() < 0.5 } })),
    });
    const decoded = same(Insert_MultiRequestSchema, toBinary(Insert_MultiRequestSchema, inserts));
    decoded.requests.forEach((q, j) => expect(floatsOf(q.vector, "vector")).toEqual(new Float32Array(inserts.requests[j]!.vector!.vector)));
  }
});

test("unpacked floats, split packed runs, a message field given twice and unknown fields", () => {
  const w = new BinaryWriter();
  // Object.Vector: id=1, vector=2 (float), timestamp=3
  w.tag(2, WireType.Bit32).float(1.5); // unpacked element first
  w.tag(2, WireType.LengthDelimited).fork().float(2.5).float(-3).join(); // then a packed run
  w.tag(1, WireType.LengthDelimited).string("a");
  w.tag(99, WireType.Varint).uint32(12345); // unknown
  w.tag(2, WireType.LengthDelimited).fork().float(4).join(); // a second packed run
  w.tag(3, WireType.Varint).int64(77n);
  const v = same(Object_VectorSchema, w.finish());
  expect(floatsOf(v, "vector")).toEqual(new Float32Array([1.5, 2.5, -3, 4]));
  expect(v.$unknown?.length).toBe(1);

  // Search.Request with its vector in two halves and config twice (merged)
  const s = new BinaryWriter();
  s.tag(1, WireType.LengthDelimited).fork().float(1).float(2).join();
  s.tag(2, WireType.LengthDelimited).fork().tag(2, WireType.Varint).uint32(5).join(); // config.num = 5
  s.tag(1, WireType.LengthDelimited).fork().float(3).join();
  s.tag(2, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string("rid").join(); // config.request_id
  const q = same(Search_RequestSchema, s.finish());
  expect(q.config?.num).toBe(5);
  expect(q.config?.requestId).toBe("rid");
  expect(floatsOf(q, "vector")).toEqual(new Float32Array([1, 2, 3]));
});

test("reading the number[] settles the field: floatsOf then defers to it", () => {
  const bytes = toBinary(Search_RequestSchema, create(Search_RequestSchema, { vector: [1, 2, 3] }));
  const q = decodeWithFloats(Search_RequestSchema, bytes);
  expect(floatsOf(q, "vector")).toBeDefined();
  expect(q.vector).toEqual([1, 2, 3]);
  expect(floatsOf(q, "vector")).toBeUndefined();
  q.vector.push(4); // a plain array now, mutable like any other message's
  expect(q.vector).toEqual([1, 2, 3, 4]);

  const r = decodeWithFloats(Search_RequestSchema, bytes);
  r.vector = [9];
  expect(floatsOf(r, "vector")).toBeUndefined();
  expect(r.vector).toEqual([9]);
  expect({ ...decodeWithFloats(Search_RequestSchema, bytes) }.vector).toEqual([1, 2, 3]);
});

test("broken input is refused, as fromBinary refuses it; messages without floats are untouched", () => {
  const bytes = toBinary(Search_RequestSchema, create(Search_RequestSchema, { vector: [1, 2, 3, 4] }));
  expect(() => decodeWithFloats(Search_RequestSchema, bytes.subarray(0, bytes.length - 2))).toThrow();
  const odd = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(new Uint8Array([1, 2, 3])).finish();
  expect(() => decodeWithFloats(Search_RequestSchema, odd)).toThrow(/packed float/);
  const res = create(Search_ResponseSchema, { requestId: "x", results: [{ id: "a", distance: 1 }] });
  same(Search_ResponseSchema, toBinary(Search_ResponseSchema, res));
});

test("encodeWithFloats writes what toBinary would mean: decoded, attached and nested vectors round-trip", () => {
  const g = rng(11);
  const r = () => g.next();
  for (let i = 0; i < 100; i++) {
    const d = 2 + Math.floor(r() * 200);
    const inserts = create(Insert_MultiRequestSchema, {
      requests: Array.from({ length: 1 + Math.floor(r() * 4) }, (_, j) => ({ vector: { id: `id-${i}-${j}`, vector: vector(r, d), timestamp: BigInt(j + 1) }, config: { timestamp: 5n } })),
    });
    const plain = toBinary(Insert_MultiRequestSchema, inserts);
    const decoded = decodeWithFloats(Insert_MultiRequestSchema, plain);
    const again = encodeWithFloats(Insert_MultiRequestSchema, decoded);
    expect(equals(Insert_MultiRequestSchema, fromBinary(Insert_MultiRequestSchema, again), inserts)).toBe(true);
    // encoding read nothing: the vectors are still held as Float32Array
    expect(floatsOf(decoded.requests[0]!.vector, "vector")).toBeDefined();

    const q = create(Search_RequestSchema, { config: { num: 3, requestId: `r${i}` } });
    const f32 = new Float32Array(vector(r, d));
    attachFloats(q, "vector", f32);
    expect(floatsOf(q, "vector")).toBe(f32);
    const wire = encodeWithFloats(Search_RequestSchema, q);
    const back = fromBinary(Search_RequestSchema, wire);
    expect(back.vector).toEqual(Array.from(f32));
    expect(back.config?.requestId).toBe(`r${i}`);
    expect(q.vector).toEqual(Array.from(f32)); // and the message reads as it should
    expect(encodeWithFloats(Search_RequestSchema, q)).toEqual(toBinary(Search_RequestSchema, q));
  }
});

test("with an allocator, each float list is copied once into the array it gives, and decodes as fromBinary", () => {
  const g = rng(11);
  const r = () => g.next();
  const d = 48;
  // one shared backing store, like the agent's staging arena: rooms sit side by side
  const arena = new Float32Array(64 * d);
  let used = 0;
  const asked: number[] = [];
  const alloc = (length: number) => {
    asked.push(length);
    if (length !== d) return new Float32Array(length);
    const room = arena.subarray(used, used + d);
    used += d;
    return room;
  };
  const inserts = create(Insert_MultiRequestSchema, {
    requests: [
      ...Array.from({ length: 5 }, (_, j) => ({ vector: { id: `a${j}`, vector: vector(r, d), timestamp: BigInt(j) } })),
      { vector: { id: "short", vector: vector(r, 3) } },
    ],
  });
  const bytes = toBinary(Insert_MultiRequestSchema, inserts);
  const got = decodeWithFloats(Insert_MultiRequestSchema, bytes, alloc);
  expect(asked).toEqual([d, d, d, d, d, 3]);
  got.requests.forEach((q, j) => {
    const floats = floatsOf(q.vector, "vector")!;
    expect(floats).toEqual(new Float32Array(inserts.requests[j]!.vector!.vector));
    // the vectors of the agent's dimension live in the arena, in request order
    expect(floats.buffer === arena.buffer).toBe(j < 5);
    if (j < 5) expect(floats.byteOffset).toBe(j * d * 4);
  });
  expect(equals(Insert_MultiRequestSchema, got, fromBinary(Insert_MultiRequestSchema, bytes))).toBe(true);

  // a list split over runs is joined into a fresh array; the rooms given stay unused
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).string("split");
  w.tag(2, WireType.LengthDelimited).fork().float(1).float(2).join();
  w.tag(2, WireType.LengthDelimited).fork().float(3).join();
  const split = decodeWithFloats(Object_VectorSchema, w.finish(), alloc);
  expect(floatsOf(split, "vector")).toEqual(new Float32Array([1, 2, 3]));
  expect(floatsOf(split, "vector")!.buffer === arena.buffer).toBe(false);
});
