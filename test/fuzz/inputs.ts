// Bad inputs for any method, built from its protobuf descriptor: random field values
// (NaN/Inf floats, wrong dimensions, empty and 1 MB ids, extreme integers), then byte
// mutations (flipped bits, wrong wire types, truncation, overlong varints, invalid
// UTF-8), envelopes that lie about their length or compression, and JSON that is
// wrong in type, shape or depth.
import { create, toBinary, toJsonString, ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import type { Rng } from "./rng";

const FLOATS = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e39, -0, 3.4e38, 1e-45];

function scalar(r: Rng, t: ScalarType, name: string): unknown {
  switch (t) {
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return r.bool(0.3) ? r.pick(FLOATS) : (r.next() - 0.5) * 10 ** r.int(0, 6);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return r.pick([0n, -1n, 1n, 9223372036854775807n, -9223372036854775808n, BigInt(r.int(0, 1e9))]);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return r.pick([0n, 1n, 18446744073709551615n, BigInt(r.int(0, 1e9))]);
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return r.pick([0, -1, 1, 2147483647, -2147483648, r.int(0, 100)]);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return r.pick([0, 1, 4294967295, 1_000_000_000, r.int(0, 100)]);
    case ScalarType.BOOL:
      return r.bool();
    case ScalarType.STRING:
      if (/id$/i.test(name)) return r.pick(["", "fz-" + r.int(0, 1e6), "x".repeat(1 << 20), "日本語-" + r.int(0, 99), "\u0000nul", "fz-" + "é".repeat(400)]);
      return r.pick(["", "fz", "\u{1F600}", "x".repeat(r.int(0, 3000))]);
    case ScalarType.BYTES:
      return r.bytes(r.int(0, 64));
  }
  return undefined;
}

function vector(r: Rng, dim: number): number[] {
  const n = r.pick([0, 1, dim - 1, dim, dim, dim + 1, 100_000]);
  return Array.from({ length: n }, () => (r.bool(0.1) ? r.pick(FLOATS) : r.next()));
}

function fieldValue(r: Rng, f: DescField, dim: number, depth: number): unknown {
  switch (f.fieldKind) {
    case "scalar":
      return scalar(r, f.scalar, f.name);
    case "enum":
      return r.bool(0.8) ? r.pick(f.enum.values).number : r.int(-5, 1000);
    case "message":
      return depth > 3 ? undefined : randomInit(r, f.message, dim, depth + 1);
    case "list": {
      if (f.listKind === "scalar" && (f.scalar === ScalarType.FLOAT || f.scalar === ScalarType.DOUBLE)) return vector(r, dim);
      const n = r.pick([0, 1, 2, 5]);
      if (f.listKind === "message") return depth > 3 ? [] : Array.from({ length: n }, () => randomInit(r, f.message, dim, depth + 1));
      if (f.listKind === "enum") return Array.from({ length: n }, () => r.int(0, 10));
      return Array.from({ length: n }, () => scalar(r, f.scalar, f.name));
    }
    case "map":
      return {};
  }
}

/** A message init with random values for the fields chosen (each with probability 0.7). */
export function randomInit(r: Rng, desc: DescMessage, dim: number, depth = 0): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  for (const f of desc.fields) {
    if (!r.bool(0.7)) continue;
    const v = fieldValue(r, f, dim, depth);
    if (v === undefined) continue;
    if (f.oneof) init[f.oneof.localName] = { case: f.localName, value: v };
    else init[f.localName] = v;
  }
  return init;
}

export function randomMessage(r: Rng, desc: DescMessage, dim: number): Uint8Array {
  try {
    return toBinary(desc, create(desc, randomInit(r, desc, dim)));
  } catch {
    // a value protobuf-es will not encode (e.g. NaN where an int goes): fall back to noise
    return r.bytes(r.int(0, 32));
  }
}

/** Byte-level damage: the wire types, lengths and UTF-8 a client library would never send. */
export function mutate(r: Rng, bytes: Uint8Array): Uint8Array {
  const b = Uint8Array.from(bytes);
  switch (r.int(0, 6)) {
    case 0: // flip bits
      for (let i = 0; i < Math.max(1, b.length >> 4); i++) if (b.length) b[r.int(0, b.length - 1)]! ^= 1 << r.int(0, 7);
      return b;
    case 1: // truncate
      return b.subarray(0, r.int(0, b.length));
    case 2: // wrong wire type on the first tag
      if (b.length) b[0] = (b[0]! & ~7) | r.pick([1, 3, 4, 5, 6, 7]);
      return b;
    case 3: // an overlong varint
      return concat(Uint8Array.of(0x08), new Uint8Array(11).fill(0xff), b);
    case 4: // a string field of invalid UTF-8 (field 1, then field 2)
      return concat(Uint8Array.of(0x0a, 4, 0xff, 0xfe, 0xc3, 0x28), Uint8Array.of(0x12, 3, 0xed, 0xa0, 0x80), b);
    case 5: // a length-delimited field claiming more bytes than there are
      return concat(Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0x7f), b);
    default: // noise
      return r.bytes(r.int(1, 256));
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** A gRPC envelope, honest or not. */
export function envelope(message: Uint8Array, opts: { flags?: number; length?: number } = {}): Uint8Array {
  const out = new Uint8Array(5 + message.length);
  out[0] = opts.flags ?? 0;
  new DataView(out.buffer).setUint32(1, opts.length ?? message.length);
  out.set(message, 5);
  return out;
}

/** The body of a call: one or more envelopes, some of them lying. */
export function envelopedBody(r: Rng, messages: Uint8Array[]): Uint8Array {
  switch (r.int(0, 9)) {
    case 0:
      return envelope(messages[0]!, { length: messages[0]!.length + r.int(1, 1000) }); // truncated
    case 1:
      return envelope(messages[0]!, { length: 0xffffffff }); // oversized claim
    case 2:
      return envelope(messages[0]!, { flags: 1 }); // compressed without an encoding
    case 3:
      return envelope(messages[0]!).subarray(0, r.int(0, 4)); // not even a header
    case 4:
      return new Uint8Array(0);
    default:
      return concat(...messages.map((m) => envelope(m)));
  }
}

/** JSON bodies: random shapes, wrong types, deep nesting, NaN spelled out. */
export function badJson(r: Rng, desc: DescMessage, dim: number): string {
  switch (r.int(0, 5)) {
    case 0:
      return "[".repeat(r.pick([100, 10_000, 100_000])) + "]".repeat(r.pick([0, 100]));
    case 1:
      return `{"vector":${"{\"a\":".repeat(5000)}1${"}".repeat(5000)}}`;
    case 2:
      return JSON.stringify({ vector: { id: 12, vector: "NaN" }, config: { num: "many" } });
    case 3:
      return String.fromCharCode(...r.bytes(r.int(0, 200)));
    case 4:
      return JSON.stringify({ vector: ["NaN", "Infinity", "-Infinity", 1e400], config: { num: 1e20, timeout: "-5" } });
    default:
      try {
        return toJsonString(desc, create(desc, randomInit(r, desc, dim)));
      } catch {
        return "{\"x\":";
      }
  }
}

/** grpc-timeout values, mostly malformed. */
export function badTimeout(r: Rng): string | undefined {
  return r.pick([undefined, "", "soon", "-1S", "1n", "0S", "999999999H", "123456789S", "1.5S", "10", " 5S", "5s", "1m"]);
}
