// fromBinary for messages that carry vectors. protobuf-es reads a packed `repeated
// float` one element at a time through a closure shared by every list field of every
// message, pushing into a growing number[]; for a 784-d query that was the largest
// single cost of a Search call outside the index. Here such a field is copied off the
// wire in one memcpy into a Float32Array, which a handler takes with floatsOf(); the
// message still has its number[] field, built from the copy only if something reads
// it (an interceptor, a re-encode), so the message stays what fromBinary would give.
//
// Everything else in the message is decoded by protobuf-es itself (mergeFromBinary
// over the byte ranges between vector fields), so field semantics stay protobuf-es's.
import { mergeFromBinary, ScalarType, create, toBinary, type DescField, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/** Typed-array copies of the wire bytes are only valid on a little-endian host. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** message → its float list fields still unread as number[], by local name */
const unread = new WeakMap<object, Map<string, Float32Array>>();

interface Plan {
  /** packed float lists, by field number */
  floats: Map<number, DescField & { fieldKind: "list" }>;
  /** message fields (single or repeated) whose type holds float lists, by field number */
  nested: Map<number, DescField>;
}

const plans = new WeakMap<DescMessage, Plan | null>();

/** null: the message holds no float list at any depth (plain fromBinary is as good) */
function planOf(desc: DescMessage, visiting = new Set<DescMessage>()): Plan | null {
  const known = plans.get(desc);
  if (known !== undefined) return known;
  if (visiting.has(desc)) return null; // recursive types: the outer visit decides
  visiting.add(desc);
  const plan: Plan = { floats: new Map(), nested: new Map() };
  for (const f of desc.fields) {
    if (f.fieldKind === "list" && f.listKind === "scalar" && f.scalar === ScalarType.FLOAT) plan.floats.set(f.number, f);
    else if ((f.fieldKind === "message" || (f.fieldKind === "list" && f.listKind === "message")) && !f.oneof && !f.delimitedEncoding) {
      if (planOf(f.message!, visiting) !== null) plan.nested.set(f.number, f);
    }
  }
  visiting.delete(desc);
  const result = plan.floats.size + plan.nested.size > 0 ? plan : null;
  plans.set(desc, result);
  return result;
}

/** The message's float list as the wire carried it, if nothing has read the number[] yet. */
export function floatsOf(message: object | undefined, localName: string): Float32Array | undefined {
  return message === undefined ? undefined : unread.get(message)?.get(localName);
}

/**
 * Where a decoded float list is copied to: a Float32Array of exactly `length` elements
 * that the decoder fills and nobody else writes to. A callee that keeps the vectors it
 * receives (an agent staging inserts) gives one, so the wire's floats land in their
 * final place in one copy instead of two.
 */
export type FloatAllocator = (length: number) => Float32Array;

/** fromBinary(desc, bytes), with float lists copied off the wire (see floatsOf), into `alloc`'s arrays when given. */
export function decodeWithFloats<D extends DescMessage>(desc: D, bytes: Uint8Array, alloc?: FloatAllocator): MessageShape<D> {
  const plan = LITTLE_ENDIAN ? planOf(desc) : null;
  if (plan === null) return mergeFromBinary(desc, create(desc), bytes);
  const message = create(desc);
  decodeInto(desc, plan, message as Record<string, unknown>, bytes, alloc);
  return message;
}

function decodeInto(desc: DescMessage, plan: Plan, message: Record<string, unknown>, bytes: Uint8Array, alloc: FloatAllocator | undefined): void {
  const reader = new BinaryReader(bytes);
  // bytes of the fields protobuf-es decodes, as [from, to) runs between ours
  let runStart = 0;
  const flush = (end: number) => {
    if (end > runStart) mergeFromBinary(desc, message as MessageShape<DescMessage>, bytes.subarray(runStart, end));
  };
  while (reader.pos < bytes.length) {
    const fieldStart = reader.pos;
    const [no, wireType] = reader.tag();
    const floats = plan.floats.get(no);
    if (floats !== undefined && wireType === WireType.LengthDelimited) {
      flush(fieldStart);
      const len = reader.uint32();
      const start = reader.pos;
      if (len % 4 !== 0 || start + len > bytes.length) throw new Error(`invalid packed float field ${desc.typeName}.${floats.name}`);
      reader.pos = start + len;
      appendFloats(message, floats.localName, bytes.subarray(start, start + len), undefined, alloc);
      runStart = reader.pos;
      continue;
    }
    const nested = plan.nested.get(no);
    if (nested !== undefined && wireType === WireType.LengthDelimited) {
      flush(fieldStart);
      const len = reader.uint32();
      const start = reader.pos;
      if (start + len > bytes.length) throw new Error(`premature EOF in ${desc.typeName}.${nested.name}`);
      reader.pos = start + len;
      const child = nested.message!;
      const childPlan = planOf(child)!;
      const sub = bytes.subarray(start, start + len);
      if (nested.fieldKind === "list") {
        const item = create(child);
        decodeInto(child, childPlan, item as Record<string, unknown>, sub, alloc);
        (message[nested.localName] as unknown[]).push(item);
      } else {
        // a message field given twice merges, as protobuf has it
        const item = (message[nested.localName] as Record<string, unknown> | undefined) ?? create(child);
        decodeInto(child, childPlan, item as Record<string, unknown>, sub, alloc);
        message[nested.localName] = item;
      }
      runStart = reader.pos;
      continue;
    }
    reader.skip(wireType, no);
  }
  flush(bytes.length);
}

/** Appends wire floats to a list field, keeping them as a Float32Array until read. */
function appendFloats(message: Record<string, unknown>, localName: string, wire: Uint8Array, given?: Float32Array, alloc?: FloatAllocator): void {
  let copy: Float32Array;
  const placed = given === undefined && alloc !== undefined ? alloc(wire.length / 4) : undefined;
  if (given !== undefined) {
    copy = given;
  } else if (placed !== undefined && placed.length === wire.length / 4) {
    new Uint8Array(placed.buffer, placed.byteOffset, wire.length).set(wire);
    copy = placed;
  } else {
    // the buffer first: reading .buffer off a fresh typed array makes the engine
    // materialise an ArrayBuffer object for it, which costs more than the copy
    const buffer = new ArrayBuffer(wire.length);
    new Uint8Array(buffer).set(wire);
    copy = new Float32Array(buffer);
  }
  let fields = unread.get(message);
  const before = fields?.get(localName);
  const existing = before === undefined ? (message[localName] as number[]) : undefined;
  let values: Float32Array;
  if (before !== undefined) {
    // a list split over several packed runs: rare, joined here
    values = new Float32Array(before.length + copy.length);
    values.set(before);
    values.set(copy, before.length);
  } else if (existing !== undefined && existing.length > 0) {
    // unpacked elements came first (decoded by protobuf-es): join them in front
    values = new Float32Array(existing.length + copy.length);
    values.set(existing);
    values.set(copy, existing.length);
  } else {
    values = copy;
  }
  if (fields === undefined) unread.set(message, (fields = new Map()));
  fields.set(localName, values);
  Object.defineProperty(message, localName, lazyList(localName));
}

/** One accessor pair per field name, shared by every message (a pair of closures per message showed per item) */
const lazyLists = new Map<string, PropertyDescriptor>();

function lazyList(localName: string): PropertyDescriptor {
  let d = lazyLists.get(localName);
  if (d === undefined) {
    d = {
      configurable: true,
      enumerable: true,
      get(this: Record<string, unknown>) {
        const list = Array.from(unread.get(this)?.get(localName) ?? []);
        settle(this, localName, list);
        return list;
      },
      set(this: Record<string, unknown>, v: unknown) {
        settle(this, localName, v);
      },
    };
    lazyLists.set(localName, d);
  }
  return d;
}

/** The field becomes a plain data property; the wire copy no longer speaks for it. */
function settle(message: Record<string, unknown>, localName: string, value: unknown): void {
  Object.defineProperty(message, localName, { value, writable: true, enumerable: true, configurable: true });
  unread.get(message)?.delete(localName);
}

/**
 * Gives a message's float list field the values of `values` (a Float32Array nobody
 * else writes to), kept unread like a decoded one: an in-process callee takes it with
 * floatsOf and encodeWithFloats writes it out in one copy.
 */
export function attachFloats(message: object, localName: string, values: Float32Array): void {
  unread.get(message)?.delete(localName);
  (message as Record<string, unknown>)[localName] = [];
  appendFloats(message as Record<string, unknown>, localName, EMPTY, values);
}

const EMPTY = new Uint8Array(0);

/**
 * toBinary(desc, message), writing float lists still held as Float32Array (decoded or
 * attached, see floatsOf) in one copy each instead of element by element.
 */
export function encodeWithFloats<D extends DescMessage>(desc: D, message: MessageShape<D>): Uint8Array {
  const plan = LITTLE_ENDIAN ? planOf(desc) : null;
  if (plan === null || !holdsUnread(plan, message as Record<string, unknown>)) return toBinary(desc, message);
  const parts: Uint8Array[] = [];
  encodeInto(desc, plan, message as Record<string, unknown>, parts);
  return Buffer.concat(parts);
}

function holdsUnread(plan: Plan, message: Record<string, unknown>): boolean {
  const fields = unread.get(message);
  if (fields !== undefined && fields.size > 0) return true;
  for (const f of plan.nested.values()) {
    const childPlan = planOf(f.message!)!;
    const v = message[f.localName];
    if (f.fieldKind === "list") {
      for (const item of v as Record<string, unknown>[]) if (holdsUnread(childPlan, item)) return true;
    } else if (v !== undefined && holdsUnread(childPlan, v as Record<string, unknown>)) return true;
  }
  return false;
}

/** Our fields first (tag, length, bytes), then every other field as protobuf-es writes it. */
function encodeInto(desc: DescMessage, plan: Plan, message: Record<string, unknown>, parts: Uint8Array[]): void {
  const fields = unread.get(message);
  // a copy without the fields written here; Object.keys, not a spread, which would
  // read (and so build) the lists still held as Float32Array
  const rest: Record<string, unknown> = {};
  for (const k of Object.keys(message)) if (fields?.has(k) !== true) rest[k] = message[k];
  for (const f of plan.floats.values()) {
    const values = fields?.get(f.localName);
    if (values === undefined) continue;
    rest[f.localName] = [];
    if (values.length === 0) continue;
    parts.push(new BinaryWriter().tag(f.number, WireType.LengthDelimited).uint32(values.byteLength).finish());
    parts.push(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  for (const f of plan.nested.values()) {
    const v = message[f.localName];
    if (v === undefined) continue;
    const items = f.fieldKind === "list" ? (v as Record<string, unknown>[]) : [v as Record<string, unknown>];
    const childPlan = planOf(f.message!)!;
    for (const item of items) {
      const sub: Uint8Array[] = [];
      encodeInto(f.message!, childPlan, item, sub);
      const len = sub.reduce((n, p) => n + p.byteLength, 0);
      parts.push(new BinaryWriter().tag(f.number, WireType.LengthDelimited).uint32(len).finish(), ...sub);
    }
    rest[f.localName] = f.fieldKind === "list" ? [] : undefined;
  }
  parts.push(toBinary(desc, rest as MessageShape<DescMessage>));
}
