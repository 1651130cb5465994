// The wire format round-trips and rejects damaged input; backoff stays in bounds.
import { expect, test } from "bun:test";
import { Code } from "@connectrpc/connect";
import { backoffDelay } from "../../src/tunnel/backoff";
import {
  decodeCall,
  decodeFrames,
  decodeReply,
  decodeHeaders,
  decodeRequestHead,
  decodeReset,
  decodeResponseHead,
  decodeWindow,
  encodeCall,
  encodeFrame,
  encodeHeaders,
  encodeReplyChunked,
  encodeReplyError,
  encodeReplyMessage,
  encodeRequestHead,
  encodeReset,
  encodeResponseHead,
  encodeWindow,
  FLAG_END,
  FRAME_HEADER_BYTES,
  FrameType,
} from "../../src/tunnel/frames";
import { tunnelUrl } from "../../src/tunnel/hello";

test("several frames in one message decode in order, payloads as views", () => {
  const body = new Uint8Array([1, 2, 3, 4, 5]);
  const msg = new Uint8Array([
    ...encodeFrame(FrameType.Data, 7, body),
    ...encodeFrame(FrameType.Data, 7, new Uint8Array(0), FLAG_END),
    ...encodeFrame(FrameType.Window, 0xfffffffe, encodeWindow(65_536)),
  ]);
  expect(msg.byteLength).toBe(3 * FRAME_HEADER_BYTES + 5 + 4);
  const frames = decodeFrames(msg);
  expect(frames.map((f) => [f.type, f.stream, f.flags])).toEqual([
    [FrameType.Data, 7, 0],
    [FrameType.Data, 7, FLAG_END],
    [FrameType.Window, 0xfffffffe, 0],
  ]);
  expect([...frames[0]!.payload]).toEqual([1, 2, 3, 4, 5]);
  expect(frames[0]!.payload.buffer).toBe(msg.buffer);
  expect(decodeWindow(frames[2]!.payload)).toBe(65_536);
});

test("heads, trailers and resets round-trip", () => {
  const h = new Headers({ "content-type": "application/grpc+proto", "grpc-timeout": "150m", "x-latin": "caf\u00e9" });
  h.append("x-multi", "a");
  h.append("x-multi", "b");
  const rh = decodeRequestHead(encodeRequestHead({ path: "/vald.v1.Search/Search", headers: h }));
  expect(rh.path).toBe("/vald.v1.Search/Search");
  expect([...rh.headers]).toEqual([...h]);
  const sh = decodeResponseHead(encodeResponseHead({ status: 415, headers: h }));
  expect(sh.status).toBe(415);
  expect(sh.headers.get("x-latin")).toBe("caf\u00e9");
  expect(decodeHeaders(encodeHeaders(new Headers())).entries().next().done).toBe(true);
  expect(decodeReset(encodeReset({ code: Code.NotFound, message: "no such id ✓" }))).toEqual({
    code: Code.NotFound,
    message: "no such id ✓",
  });
  expect(decodeReset(new Uint8Array([200])).code).toBe(Code.Unknown);
});

test("Call and Reply frames round-trip", () => {
  const message = new Uint8Array([9, 8, 7]);
  const call = decodeCall(encodeCall({ path: "/vald.v1.Search/Search", timeoutMs: 1500, headers: [["x-a", "é1"]] }, message));
  expect(call).toEqual({ path: "/vald.v1.Search/Search", timeoutMs: 1500, headers: [["x-a", "é1"]], message });
  expect(decodeCall(encodeCall({ path: "/p", timeoutMs: 0, headers: [] }, new Uint8Array(0))).message.byteLength).toBe(0);
  expect(decodeReply(encodeReplyMessage(message))).toEqual({ kind: 0, message });
  const err = decodeReply(encodeReplyError(new Headers({ "grpc-status": "5", "grpc-message": "gone" })));
  expect(err.kind === 1 && [err.trailers.get("grpc-status"), err.trailers.get("grpc-message")]).toEqual(["5", "gone"]);
  expect(decodeReply(encodeReplyChunked(300_000))).toEqual({ kind: 2, length: 300_000 });
});

test("damaged Call and Reply frames are rejected", () => {
  const whole = encodeCall({ path: "/vald.v1.Search/Search", timeoutMs: 0, headers: [["k", "v"]] }, new Uint8Array(4));
  expect(() => decodeCall(whole.subarray(0, 10))).toThrow();
  expect(() => decodeCall(whole.subarray(0, 30))).toThrow();
  expect(() => decodeReply(new Uint8Array([7]))).toThrow(/unknown reply kind/);
  expect(() => decodeReply(new Uint8Array([2, 0]))).toThrow(/truncated/);
});

test("damaged messages are rejected", () => {
  const ok = encodeFrame(FrameType.Data, 1, new Uint8Array(10));
  expect(() => decodeFrames(ok.subarray(0, 5))).toThrow("truncated frame header");
  expect(() => decodeFrames(ok.subarray(0, 15))).toThrow("truncated frame payload");
  const bad = encodeFrame(FrameType.Data, 1);
  bad[0] = 99;
  expect(() => decodeFrames(bad)).toThrow("unknown frame type 99");
});

test("backoff grows, jitters within bounds and caps", () => {
  const lo = () => 0;
  const hi = () => 1;
  expect(backoffDelay(0, { initialMs: 100, maxMs: 10_000 }, lo)).toBe(50);
  expect(backoffDelay(0, { initialMs: 100, maxMs: 10_000 }, hi)).toBe(100);
  expect(backoffDelay(3, { initialMs: 100, maxMs: 10_000 }, hi)).toBe(800);
  expect(backoffDelay(50, { initialMs: 100, maxMs: 10_000 }, hi)).toBe(10_000);
  expect(backoffDelay(50, { initialMs: 100, maxMs: 10_000 }, lo)).toBe(5_000);
});

test("server addresses become tunnel URLs", () => {
  expect(tunnelUrl("10.0.0.1:8000")).toBe("ws://10.0.0.1:8000/connect");
  expect(tunnelUrl("ws://server:8000")).toBe("ws://server:8000/connect");
  expect(tunnelUrl("https://server.example/")).toBe("wss://server.example/connect");
  expect(tunnelUrl("ws://server:8000/custom")).toBe("ws://server:8000/custom");
  expect(() => tunnelUrl("ftp://x")).toThrow("unsupported tunnel scheme");
});
