// Wire format of the tunnel. One websocket binary message carries one or more
// frames back to back, so a unary call (head + body + end) costs one message
// each way. Each frame: type u8 | flags u8 | stream id u32 | payload length u32
// | payload. Body chunks are raw bytes; only heads/trailers carry a small
// binary header block (never JSON), so the hot path is a 10-byte prefix.
//
// A call's life: the server (caller) picks a fresh stream id and sends
// RequestHead, Data*, Data+End. The agent (callee) answers ResponseHead, Data*,
// Trailers (which end the stream for both). Either side may send Reset
// instead, with a Connect code; the other side fails the call with that code.
// Each side may have at most one window (DEFAULT_WINDOW) of unacknowledged Data
// bytes per stream in flight; the reader grants more with Window frames as its
// consumer pulls chunks. Ping/Pong on stream 0 keep both ends honest about
// liveness. A closed socket fails every open stream with UNAVAILABLE.
import { Code } from "@connectrpc/connect";

export const FRAME_HEADER_BYTES = 10;

export const FrameType = {
  /** caller → callee: method path and request headers (grpc-timeout included) */
  RequestHead: 1,
  /** either way: a body chunk; flag End closes that direction */
  Data: 2,
  /** callee → caller: HTTP status and response headers */
  ResponseHead: 3,
  /** callee → caller: trailers; ends the stream */
  Trailers: 4,
  /** either way: abandon the stream with a Connect code and message */
  Reset: 5,
  /** either way: receiver grants the sender more bytes for this stream */
  Window: 6,
  /** either way, stream 0: liveness probe and its answer */
  Ping: 7,
  Pong: 8,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Data flag: the sender will send no more body chunks on this stream. */
export const FLAG_END = 1;

export interface Frame {
  type: FrameType;
  flags: number;
  stream: number;
  /** a view into the received message; not copied */
  payload: Uint8Array;
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();
const EMPTY = new Uint8Array(0);

export function encodeFrame(type: FrameType, stream: number, payload: Uint8Array = EMPTY, flags = 0): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.byteLength);
  writeFrameHeader(out, 0, type, flags, stream, payload.byteLength);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

export function writeFrameHeader(out: Uint8Array, at: number, type: FrameType, flags: number, stream: number, length: number): void {
  const v = new DataView(out.buffer, out.byteOffset + at, FRAME_HEADER_BYTES);
  v.setUint8(0, type);
  v.setUint8(1, flags);
  v.setUint32(2, stream);
  v.setUint32(6, length);
}

/** Splits a websocket message into frames; throws on a truncated or unknown frame. */
export function decodeFrames(msg: Uint8Array): Frame[] {
  const frames: Frame[] = [];
  const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  let at = 0;
  while (at < msg.byteLength) {
    if (msg.byteLength - at < FRAME_HEADER_BYTES) throw new Error("truncated frame header");
    const type = v.getUint8(at);
    if (type < FrameType.RequestHead || type > FrameType.Pong) throw new Error(`unknown frame type ${type}`);
    const flags = v.getUint8(at + 1);
    const stream = v.getUint32(at + 2);
    const length = v.getUint32(at + 6);
    const start = at + FRAME_HEADER_BYTES;
    if (start + length > msg.byteLength) throw new Error("truncated frame payload");
    frames.push({ type: type as FrameType, flags, stream, payload: msg.subarray(start, start + length) });
    at = start + length;
  }
  return frames;
}

// Header block: u16 count, then per entry u16 name length | name | u32 value
// length | value. Used for request heads (path first), response heads
// (status first) and trailers.

function headerEntries(h: Headers): [Uint8Array, Uint8Array][] {
  const entries: [Uint8Array, Uint8Array][] = [];
  h.forEach((value, name) => entries.push([utf8.encode(name), utf8.encode(value)]));
  return entries;
}

function blockSize(entries: [Uint8Array, Uint8Array][]): number {
  let n = 2;
  for (const [k, v] of entries) n += 6 + k.byteLength + v.byteLength;
  return n;
}

function writeBlock(out: Uint8Array, at: number, entries: [Uint8Array, Uint8Array][]): void {
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  v.setUint16(at, entries.length);
  at += 2;
  for (const [k, val] of entries) {
    v.setUint16(at, k.byteLength);
    out.set(k, at + 2);
    at += 2 + k.byteLength;
    v.setUint32(at, val.byteLength);
    out.set(val, at + 4);
    at += 4 + val.byteLength;
  }
}

function readBlock(p: Uint8Array, at: number): Headers {
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const h = new Headers();
  const count = v.getUint16(at);
  at += 2;
  for (let i = 0; i < count; i++) {
    const kl = v.getUint16(at);
    const k = utf8d.decode(p.subarray(at + 2, at + 2 + kl));
    at += 2 + kl;
    const vl = v.getUint32(at);
    const val = utf8d.decode(p.subarray(at + 4, at + 4 + vl));
    at += 4 + vl;
    h.append(k, val);
  }
  return h;
}

export interface RequestHead {
  path: string;
  headers: Headers;
}

export function encodeRequestHead(head: RequestHead): Uint8Array {
  const path = utf8.encode(head.path);
  const entries = headerEntries(head.headers);
  const out = new Uint8Array(2 + path.byteLength + blockSize(entries));
  new DataView(out.buffer).setUint16(0, path.byteLength);
  out.set(path, 2);
  writeBlock(out, 2 + path.byteLength, entries);
  return out;
}

export function decodeRequestHead(p: Uint8Array): RequestHead {
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const pl = v.getUint16(0);
  return { path: utf8d.decode(p.subarray(2, 2 + pl)), headers: readBlock(p, 2 + pl) };
}

export interface ResponseHead {
  status: number;
  headers: Headers;
}

export function encodeResponseHead(head: ResponseHead): Uint8Array {
  const entries = headerEntries(head.headers);
  const out = new Uint8Array(2 + blockSize(entries));
  new DataView(out.buffer).setUint16(0, head.status);
  writeBlock(out, 2, entries);
  return out;
}

export function decodeResponseHead(p: Uint8Array): ResponseHead {
  return { status: new DataView(p.buffer, p.byteOffset, p.byteLength).getUint16(0), headers: readBlock(p, 2) };
}

export function encodeHeaders(h: Headers): Uint8Array {
  const entries = headerEntries(h);
  const out = new Uint8Array(blockSize(entries));
  writeBlock(out, 0, entries);
  return out;
}

export function decodeHeaders(p: Uint8Array): Headers {
  return readBlock(p, 0);
}

export interface ResetInfo {
  code: Code;
  message: string;
}

export function encodeReset(r: ResetInfo): Uint8Array {
  const msg = utf8.encode(r.message);
  const out = new Uint8Array(1 + msg.byteLength);
  out[0] = r.code;
  out.set(msg, 1);
  return out;
}

export function decodeReset(p: Uint8Array): ResetInfo {
  const raw = p[0] ?? Code.Unknown;
  const code = raw >= Code.Canceled && raw <= Code.Unauthenticated ? (raw as Code) : Code.Unknown;
  return { code, message: utf8d.decode(p.subarray(1)) };
}

export function encodeWindow(increment: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, increment);
  return out;
}

export function decodeWindow(p: Uint8Array): number {
  return new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(0);
}
