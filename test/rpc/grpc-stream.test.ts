// Streaming calls on an agent's port, framed by hand over node:http2, for what a normal
// client never sends: envelopes cut at every byte, a compressed flag without an
// encoding, a stream that ends inside a message, garbage after good items. Each must
// end with the right status, and the port must go on serving.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import http2 from "node:http2";
import { Insert_RequestSchema, Object_StreamLocationSchema, Search_RequestSchema, Search_StreamResponseSchema } from "../../src/gen/payload/v1/payload_pb";
import { startAgent, type AgentProc } from "../lib/cluster";

let agent: AgentProc;
beforeAll(async () => {
  agent = await startAgent({ servers: [], name: "stream-frames", dimension: 4, extra: ["--server=", "--max-message-size=4KiB"] });
});
afterAll(async () => {
  await agent.stop();
});

function envelope(bytes: Uint8Array, flags = 0): Uint8Array {
  const out = new Uint8Array(5 + bytes.length);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, bytes.length);
  out.set(bytes, 5);
  return out;
}

/** Sends `chunks` (each its own write, `gapMs` apart) and half-closes; collects the answer's messages and status. */
async function call(path: string, chunks: Uint8Array[], gapMs = 0): Promise<{ messages: Uint8Array[]; status: number; message: string }> {
  const session = http2.connect(`http://127.0.0.1:${agent.grpcPort}`);
  try {
    const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" });
    let body = Buffer.alloc(0);
    let trailers: http2.IncomingHttpHeaders = {};
    let head: http2.IncomingHttpHeaders = {};
    req.on("response", (h) => (head = h));
    req.on("trailers", (t) => (trailers = t));
    req.on("data", (c: Buffer) => (body = Buffer.concat([body, c])));
    const ended = new Promise<void>((resolve) => req.on("close", () => resolve()));
    for (const c of chunks) {
      req.write(c);
      if (gapMs > 0) await Bun.sleep(gapMs);
    }
    req.end();
    await ended;
    const messages: Uint8Array[] = [];
    for (let at = 0; at + 5 <= body.length; ) {
      const len = body.readUInt32BE(at + 1);
      messages.push(body.subarray(at + 5, at + 5 + len));
      at += 5 + len;
    }
    const st = trailers["grpc-status"] ?? head["grpc-status"];
    return { messages, status: Number(st), message: decodeURIComponent(String(trailers["grpc-message"] ?? head["grpc-message"] ?? "")) };
  } finally {
    session.close();
  }
}

const insert = (id: string, v: number[]) => toBinary(Insert_RequestSchema, create(Insert_RequestSchema, { vector: { id, vector: v } }));

test("envelopes cut at every byte still decode, and each item is answered in order", async () => {
  const whole = new Uint8Array([...envelope(insert("a", [1, 2, 3, 4])), ...envelope(insert("b", [5, 6, 7, 8]))]);
  const bytes = Array.from(whole, (b) => new Uint8Array([b]));
  const r = await call("/vald.v1.Insert/StreamInsert", bytes);
  expect(r.status).toBe(0);
  const locs = r.messages.map((m) => fromBinary(Object_StreamLocationSchema, m));
  expect(locs.map((l) => (l.payload.case === "location" ? l.payload.value.uuid : "status"))).toEqual(["a", "b"]);
  const s = await call("/vald.v1.Search/StreamSearch", [envelope(toBinary(Search_RequestSchema, create(Search_RequestSchema, { vector: [1, 2, 3, 4], config: { num: 1 } })))]);
  expect(s.status).toBe(0);
  const hit = fromBinary(Search_StreamResponseSchema, s.messages[0]!);
  expect(hit.payload.case === "response" ? hit.payload.value.results[0]?.id : undefined).toBe("a");
});

test("messages that straddle arriving chunks at any point, headers split included, decode whole and in order", async () => {
  // wide enough that a message spans several chunks; an empty request is an item error in its place
  const d4 = (i: number) => [i, i + 0.5, -i, 1 / (i + 1)];
  const items = Array.from({ length: 60 }, (_, i) => (i % 17 === 5 ? envelope(new Uint8Array(0)) : envelope(insert(`s-${i}`, d4(i)))));
  const whole = Buffer.concat(items);
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 23) + 1;
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < whole.length; ) {
    const n = Math.min(rand(), whole.length - at);
    chunks.push(whole.subarray(at, at + n));
    at += n;
  }
  // paced writes, so the agent reads them as separate chunks rather than one
  const r = await call("/vald.v1.Insert/StreamInsert", chunks, 1);
  expect(r.status).toBe(0);
  expect(r.messages.length).toBe(items.length);
  r.messages.forEach((m, i) => {
    const p = fromBinary(Object_StreamLocationSchema, m).payload;
    if (i % 17 === 5) expect(p.case === "status" ? p.value.code : -1).toBe(Code.InvalidArgument);
    else expect(p.case === "location" ? p.value.uuid : p.case).toBe(`s-${i}`);
  });
  // the vectors arrived intact: each stored item answers its own exact vector
  for (const i of [0, 23, 59]) {
    const s = await call("/vald.v1.Search/StreamSearch", [envelope(toBinary(Search_RequestSchema, create(Search_RequestSchema, { vector: d4(i), config: { num: 1 } })))]);
    const hit = fromBinary(Search_StreamResponseSchema, s.messages[0]!);
    expect(hit.payload.case === "response" ? [hit.payload.value.results[0]?.id, hit.payload.value.results[0]?.distance] : undefined).toEqual([`s-${i}`, 0]);
  }
});

test("broken framing ends the stream with INVALID_ARGUMENT or RESOURCE_EXHAUSTED, and the agent keeps serving", async () => {
  const good = envelope(insert("c", [1, 1, 1, 1]));
  const garbage = await call("/vald.v1.Insert/StreamInsert", [good, envelope(new Uint8Array([0xff, 0xff, 0xff]))]);
  expect(garbage.status).toBe(Code.InvalidArgument);
  expect(garbage.message).toMatch(/cannot decode/);
  const compressed = await call("/vald.v1.Insert/StreamInsert", [envelope(insert("d", [1, 1, 1, 1]), 1)]);
  expect(compressed.status).toBe(Code.InvalidArgument);
  expect(compressed.message).toMatch(/compressed/);
  const cut = await call("/vald.v1.Insert/StreamInsert", [good.subarray(0, good.length - 2)]);
  expect(cut.status).toBe(Code.InvalidArgument);
  expect(cut.message).toMatch(/ended inside a message/);
  const big = await call("/vald.v1.Insert/StreamInsert", [envelope(new Uint8Array(8192))]);
  expect(big.status).toBe(Code.ResourceExhausted);
  // and the agent still serves
  const after = await call("/vald.v1.Insert/StreamInsert", [envelope(insert("e", [2, 2, 2, 2]))]);
  expect(after.status).toBe(0);
});

test("items answered together go out in request order, one answer each, a failing item's status in its place", async () => {
  const n = 200;
  const items = Array.from({ length: n }, (_, i) => {
    if (i === 50) return envelope(insert("batch-50", [1, 2, 3])); // wrong dimension
    if (i === 120) return envelope(insert("batch-0", [9, 9, 9, 9])); // already inserted at 0
    return envelope(insert(`batch-${i}`, [i, 1, 2, 3]));
  });
  // one write: the agent reads them together, so their answers settle together
  const r = await call("/vald.v1.Insert/StreamInsert", [Buffer.concat(items)]);
  expect(r.status).toBe(0);
  expect(r.messages.length).toBe(n);
  const got = r.messages.map((m) => fromBinary(Object_StreamLocationSchema, m).payload);
  got.forEach((p, i) => {
    if (i === 50) expect(p.case === "status" ? p.value.code : -1).toBe(Code.InvalidArgument);
    else if (i === 120) expect(p.case === "status" ? p.value.code : -1).toBe(Code.AlreadyExists);
    else expect(p.case === "location" ? p.value.uuid : p.case).toBe(`batch-${i}`);
  });
});
