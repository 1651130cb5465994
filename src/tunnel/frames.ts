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
  /** caller → callee: a whole unary call (deadline, path, headers, request message) */
  Call: 9,
  /** callee → caller: a unary call's outcome (the response message, or the error trailers) */
  Reply: 10,
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

// Integers are big-endian, written and read byte by byte: a DataView needs the array's
// .buffer, and asking a fresh typed array for it makes the engine build an ArrayBuffer.
function getU16(p: Uint8Array, at: number): number {
  if (at + 2 > p.byteLength) throw new RangeError("truncated frame field");
  return (p[at]! << 8) | p[at + 1]!;
}

function getU32(p: Uint8Array, at: number): number {
  if (at + 4 > p.byteLength) throw new RangeError("truncated frame field");
  return ((p[at]! << 24) | (p[at + 1]! << 16) | (p[at + 2]! << 8) | p[at + 3]!) >>> 0;
}

function putU16(p: Uint8Array, at: number, v: number): void {
  p[at] = v >>> 8;
  p[at + 1] = v & 0xff;
}

function putU32(p: Uint8Array, at: number, v: number): void {
  p[at] = v >>> 24;
  p[at + 1] = (v >>> 16) & 0xff;
  p[at + 2] = (v >>> 8) & 0xff;
  p[at + 3] = v & 0xff;
}

export function encodeFrame(type: FrameType, stream: number, payload: Uint8Array = EMPTY, flags = 0): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.byteLength);
  writeFrameHeader(out, 0, type, flags, stream, payload.byteLength);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

export function writeFrameHeader(out: Uint8Array, at: number, type: FrameType, flags: number, stream: number, length: number): void {
  out[at] = type;
  out[at + 1] = flags;
  putU32(out, at + 2, stream);
  putU32(out, at + 6, length);
}

/** Splits a websocket message into frames; throws on a truncated or unknown frame. */
export function decodeFrames(msg: Uint8Array): Frame[] {
  const frames: Frame[] = [];
  let at = 0;
  while (at < msg.byteLength) {
    if (msg.byteLength - at < FRAME_HEADER_BYTES) throw new Error("truncated frame header");
    const type = msg[at]!;
    if (type < FrameType.RequestHead || type > FrameType.Reply) throw new Error(`unknown frame type ${type}`);
    const flags = msg[at + 1]!;
    const stream = getU32(msg, at + 2);
    const length = getU32(msg, at + 6);
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
  putU16(out, at, entries.length);
  at += 2;
  for (const [k, val] of entries) {
    putU16(out, at, k.byteLength);
    out.set(k, at + 2);
    at += 2 + k.byteLength;
    putU32(out, at, val.byteLength);
    out.set(val, at + 4);
    at += 4 + val.byteLength;
  }
}

/** the entries of the block at `at`, and where it ends; throws on a truncated block */
function readEntries(p: Uint8Array, at: number): { entries: [string, string][]; end: number } {
  const count = getU16(p, at);
  at += 2;
  const entries: [string, string][] = [];
  for (let i = 0; i < count; i++) {
    const kl = getU16(p, at);
    if (at + 2 + kl > p.byteLength) throw new Error("truncated header block");
    const k = utf8d.decode(p.subarray(at + 2, at + 2 + kl));
    at += 2 + kl;
    const vl = getU32(p, at);
    if (at + 4 + vl > p.byteLength) throw new Error("truncated header block");
    const val = utf8d.decode(p.subarray(at + 4, at + 4 + vl));
    at += 4 + vl;
    entries.push([k, val]);
  }
  return { entries, end: at };
}

function readBlock(p: Uint8Array, at: number): Headers {
  const h = new Headers();
  for (const [k, v] of readEntries(p, at).entries) h.append(k, v);
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
  putU16(out, 0, path.byteLength);
  out.set(path, 2);
  writeBlock(out, 2 + path.byteLength, entries);
  return out;
}

export function decodeRequestHead(p: Uint8Array): RequestHead {
  const pl = getU16(p, 0);
  return { path: utf8d.decode(p.subarray(2, 2 + pl)), headers: readBlock(p, 2 + pl) };
}

export interface ResponseHead {
  status: number;
  headers: Headers;
}

export function encodeResponseHead(head: ResponseHead): Uint8Array {
  const entries = headerEntries(head.headers);
  const out = new Uint8Array(2 + blockSize(entries));
  putU16(out, 0, head.status);
  writeBlock(out, 2, entries);
  return out;
}

export function decodeResponseHead(p: Uint8Array): ResponseHead {
  return { status: getU16(p, 0), headers: readBlock(p, 2) };
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
  putU32(out, 0, increment);
  return out;
}

export function decodeWindow(p: Uint8Array): number {
  return getU32(p, 0);
}

export interface CallHead {
  path: string;
  /** the caller's deadline in ms from sending; 0: none */
  timeoutMs: number;
  /** request metadata; most calls have none */
  headers: [string, string][];
}

export interface DecodedCall extends CallHead {
  /** the request message (no gRPC envelope); a view into the frame */
  message: Uint8Array;
}

/** Call payload: u32 timeout ms | u16 path length | path | header block | message */
export function encodeCall(head: CallHead, message: Uint8Array): Uint8Array {
  const path = utf8.encode(head.path);
  const entries: [Uint8Array, Uint8Array][] = head.headers.map(([k, v]) => [utf8.encode(k), utf8.encode(v)]);
  const at = 6 + path.byteLength;
  const size = blockSize(entries);
  const out = new Uint8Array(at + size + message.byteLength);
  putU32(out, 0, head.timeoutMs);
  putU16(out, 4, path.byteLength);
  out.set(path, 6);
  writeBlock(out, at, entries);
  out.set(message, at + size);
  return out;
}

export function decodeCall(p: Uint8Array): DecodedCall {
  const timeoutMs = getU32(p, 0);
  const pl = getU16(p, 4);
  if (6 + pl + 2 > p.byteLength) throw new Error("truncated call head");
  const path = utf8d.decode(p.subarray(6, 6 + pl));
  const { entries, end } = readEntries(p, 6 + pl);
  return { path, timeoutMs, headers: entries, message: p.subarray(end) };
}

export const ReplyKind = {
  /** the response message follows in this frame */
  Message: 0,
  /** the call failed: gRPC status trailers follow (grpc-status, grpc-message, details) */
  Error: 1,
  /** the response message (u32 length) follows in Data frames; the last has FLAG_END */
  Chunked: 2,
} as const;

export type DecodedReply =
  | { kind: typeof ReplyKind.Message; message: Uint8Array }
  | { kind: typeof ReplyKind.Error; trailers: Headers }
  | { kind: typeof ReplyKind.Chunked; length: number };

export function encodeReplyMessage(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + message.byteLength);
  out[0] = ReplyKind.Message;
  out.set(message, 1);
  return out;
}

export function encodeReplyError(trailers: Headers): Uint8Array {
  const entries = headerEntries(trailers);
  const out = new Uint8Array(1 + blockSize(entries));
  out[0] = ReplyKind.Error;
  writeBlock(out, 1, entries);
  return out;
}

export function encodeReplyChunked(length: number): Uint8Array {
  const out = new Uint8Array(5);
  out[0] = ReplyKind.Chunked;
  putU32(out, 1, length);
  return out;
}

export function decodeReply(p: Uint8Array): DecodedReply {
  switch (p[0]) {
    case ReplyKind.Message:
      return { kind: ReplyKind.Message, message: p.subarray(1) };
    case ReplyKind.Error:
      return { kind: ReplyKind.Error, trailers: readBlock(p, 1) };
    case ReplyKind.Chunked:
      if (p.byteLength < 5) throw new Error("truncated reply");
      return { kind: ReplyKind.Chunked, length: getU32(p, 1) };
    default:
      throw new Error(`unknown reply kind ${p[0]}`);
  }
}
