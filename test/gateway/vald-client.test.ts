// The official Vald Node client (grpc-js) against the gateway: bidi streams and
// unary calls cross the gateway to several agents as Vald users make them.
import { afterAll, expect, test } from "bun:test";
import { getObject, search, streamInsert, valdClients } from "../lib/vald";
import { randomVector, rng, startCluster, type TestCluster } from "./cluster";

const D = 16;
let cluster: TestCluster | undefined;
afterAll(async () => {
  await cluster?.close();
});

test("vald-client-node: StreamInsert, Search and GetObject through the gateway", async () => {
  const c = (cluster = await startCluster(3, { replicas: 2, dimension: D }));
  const vald = valdClients(`127.0.0.1:${c.port}`);
  try {
    const r = rng(31);
    const items = Array.from({ length: 100 }, (_, i) => ({ id: `w${i}`, vector: randomVector(r, D) }));
    const codes = await streamInsert(vald, [...items, items[0]!]);
    expect(codes.slice(0, 100)).toEqual(new Array(100).fill(0));
    expect(codes[100]).toBe(6); // ALREADY_EXISTS for the duplicate, stream intact
    for (const a of c.agents) expect(a.engine.counts().stored).toBeGreaterThan(0);
    expect(c.agents.reduce((s, a) => s + a.engine.counts().stored, 0)).toBe(200);
    const hits = await search(vald, items[7]!.vector, 5);
    expect(hits[0]!.id).toBe("w7");
    expect(new Set(hits.map((h) => h.id)).size).toBe(5);
    const v = await getObject(vald, "w9");
    expect(v).toEqual([...Float32Array.from(items[9]!.vector)]);
  } finally {
    vald.close();
  }
});
