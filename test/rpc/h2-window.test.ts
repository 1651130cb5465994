// The RPC port grants HTTP/2 clients a 16 MiB receive window, per stream and per
// connection alike (src/rpc/listen.ts). The two must agree: Bun raises the stream window
// it expects when the connection window is raised, without telling the peer, and a
// client then waits for stream updates that never come. So the frames the server sends
// are read off a raw socket, and bodies larger than one window go through on one stream
// from grpc-js and from C-core (python3-grpcio).
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { connect } from "node:net";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Agent } from "../../src/gen/core/v1/agent_pb";
import { Insert_MultiRequestSchema, Insert_RequestSchema, Object_StreamLocationSchema } from "../../src/gen/payload/v1/payload_pb";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { Object$ } from "../../src/gen/vald/v1/object_pb";
import { cLoad } from "../../bench/lib/cload";
import { GrpcJs, spawnAgent, vectors, type AgentProcess } from "../agent/harness";

setDefaultTimeout(120_000);

const WINDOW = 16 * 1024 * 1024;
const DEFAULT_WINDOW = 65_535;
const DIM = 784;
/** 7,000 × 784 floats: ~22 MB, more than one window */
const BIG = 7_000;
let agent: AgentProcess;
const vecs = vectors(BIG, DIM, 21);

beforeAll(async () => {
  agent = await spawnAgent({ dimension: DIM, args: ["--name", "agent-window", "--create-index-threshold", "0"] });
});

afterAll(async () => {
  expect(await agent?.stop()).toBe(0);
});

interface Frame {
  type: number;
  stream: number;
  payload: Buffer;
}

/** The frames a server sends in answer to a bare client preface, for `ms`. */
function serverFrames(port: number, ms: number): Promise<Frame[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let buf = Buffer.alloc(0);
    socket.on("error", reject);
    socket.on("connect", () => {
      // preface, then an empty SETTINGS frame
      socket.write(Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
    });
    socket.on("data", (c: Buffer) => (buf = Buffer.concat([buf, c])));
    setTimeout(() => {
      socket.destroy();
      const frames: Frame[] = [];
      for (let at = 0; at + 9 <= buf.length; ) {
        const len = buf.readUIntBE(at, 3);
        if (at + 9 + len > buf.length) break;
        frames.push({ type: buf[at + 3]!, stream: buf.readUInt32BE(at + 5) & 0x7fffffff, payload: buf.subarray(at + 9, at + 9 + len) });
        at += 9 + len;
      }
      resolve(frames);
    }, ms);
  });
}

test("the server advertises a 16 MiB stream window and opens the connection window to the same size", async () => {
  const frames = await serverFrames(agent.grpcPort, 500);
  const settings = frames.find((f) => f.type === 4 && f.payload.length > 0);
  expect(settings).toBeDefined();
  const values = new Map<number, number>();
  for (let at = 0; at + 6 <= settings!.payload.length; at += 6) values.set(settings!.payload.readUInt16BE(at), settings!.payload.readUInt32BE(at + 2));
  expect(values.get(4)).toBe(WINDOW); // SETTINGS_INITIAL_WINDOW_SIZE
  const grants = frames.filter((f) => f.type === 8 && f.stream === 0).map((f) => f.payload.readUInt32BE(0) & 0x7fffffff);
  expect(DEFAULT_WINDOW + grants.reduce((a, b) => a + b, 0)).toBe(WINDOW);
});

test("grpc-js: a unary MultiInsert and a StreamInsert each larger than the window go through", async () => {
  const rpc = new GrpcJs(agent.address);
  try {
    await rpc.unary(Insert.method.multiInsert, { requests: vecs.map((vector, i) => ({ vector: { id: `js-m${i}`, vector } })) });
    const answers = await rpc.bidi(
      Insert.method.streamInsert,
      vecs.map((vector, i) => ({ vector: { id: `js-s${i}`, vector } })),
    );
    expect(answers.filter((a) => a.payload.case === "location").length).toBe(BIG);
    expect((await rpc.unary(Object$.method.getObject, { id: { id: "js-m6543" } })).vector).toEqual(vecs[6543]!);
    expect((await rpc.unary(Object$.method.getObject, { id: { id: "js-s1234" } })).vector).toEqual(vecs[1234]!);
    expect((await rpc.unary(Agent.method.indexInfo, {})).uncommitted).toBeGreaterThanOrEqual(2 * BIG);
  } finally {
    rpc.close();
  }
});

test("C-core: a unary MultiInsert and a StreamInsert each larger than the window go through", async () => {
  const target = `127.0.0.1:${agent.grpcPort}`;
  const multi = toBinary(Insert_MultiRequestSchema, create(Insert_MultiRequestSchema, { requests: vecs.map((vector, i) => ({ vector: { id: `c-m${i}`, vector } })) }));
  expect(multi.byteLength).toBeGreaterThan(WINDOW);
  const unary = await cLoad(target, "/vald.v1.Insert/MultiInsert", [multi], { concurrency: 1 });
  expect(unary.responses.length).toBe(1);
  const items = vecs.map((vector, i) => toBinary(Insert_RequestSchema, create(Insert_RequestSchema, { vector: { id: `c-s${i}`, vector } })));
  const stream = await cLoad(target, "/vald.v1.Insert/StreamInsert", items, { concurrency: 64, stream: true });
  expect(stream.responses.filter((b) => fromBinary(Object_StreamLocationSchema, b).payload.case === "location").length).toBe(BIG);
  const rpc = new GrpcJs(agent.address);
  try {
    expect((await rpc.unary(Object$.method.getObject, { id: { id: "c-m6999" } })).vector).toEqual(vecs[6999]!);
    expect((await rpc.unary(Object$.method.getObject, { id: { id: "c-s17" } })).vector).toEqual(vecs[17]!);
  } finally {
    rpc.close();
  }
});
