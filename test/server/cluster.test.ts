// The README quick start as real processes: a server with its embedded agent, two
// agents dialing in over the tunnel, and the official Vald client on :8080.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Index } from "../../src/gen/vald/v1/index_pb";
import { startAgent, startServer, vectors, waitForAgents, type AgentProc, type ServerProc } from "../lib/cluster";
import { getObject, search, streamInsert, valdClients, type ValdClients } from "../lib/vald";

const DIM = 8;
const data = vectors(300, DIM, 7);

describe("server + 2 agents, replicas=2", () => {
  let server: ServerProc;
  let a1: AgentProc;
  let a2: AgentProc;
  let vald: ValdClients;

  beforeAll(async () => {
    server = await startServer({ dimension: DIM, extra: ["--replicas=2", "--name=embedded"] });
    [a1, a2] = await Promise.all([
      startAgent({ servers: [server.wsPort], name: "agent-1", dimension: DIM }),
      startAgent({ servers: [server.wsPort], name: "agent-2", dimension: DIM }),
    ]);
    await waitForAgents(server, ["embedded", "agent-1", "agent-2"]);
    vald = valdClients(`127.0.0.1:${server.grpcPort}`);
  });

  afterAll(async () => {
    vald?.close();
    await Promise.all([a1?.stop(), a2?.stop()]);
    await server?.stop();
  });

  test("every insert is acknowledged and stored on exactly 2 agents", async () => {
    const codes = await streamInsert(vald, data);
    expect(codes).toHaveLength(data.length);
    expect(codes.filter((c) => c !== 0)).toEqual([]);
    const detail = await server.client(Index).indexDetail({});
    const stored = Object.values(detail.counts).reduce((s, c) => s + c.stored + c.uncommitted, 0);
    expect(stored).toBe(2 * data.length);
    // least-loaded placement spreads the copies over all three agents
    for (const c of Object.values(detail.counts)) expect(c.stored + c.uncommitted).toBeGreaterThan(data.length / 3);
  });

  test("every vector is found by id and by search through the gateway", async () => {
    let self = 0;
    for (const d of data) {
      const v = await getObject(vald, d.id);
      // google-protobuf's float32 writer may round the last bit differently from Math.fround
      expect(v).toHaveLength(DIM);
      v.forEach((x, i) => expect(Math.abs(x - d.vector[i]!)).toBeLessThan(1e-6 * Math.max(1, Math.abs(x))));
      const hits = await search(vald, d.vector, 3);
      expect(hits).toHaveLength(3);
      expect(new Set(hits.map((h) => h.id)).size).toBe(hits.length);
      if (hits[0]!.id === d.id) {
        self++;
        expect(hits[0]!.distance).toBeCloseTo(0, 4);
      }
    }
    // HNSW is approximate: a rare node may be missed by the graph
    expect(self).toBeGreaterThanOrEqual(data.length - 3);
  });

  test("kill -9 one agent: every vector is still found and searches keep answering", async () => {
    await a1.kill9();
    await waitForAgents(server, ["embedded", "agent-2"]);
    let self = 0;
    for (const d of data) {
      expect((await getObject(vald, d.id)).length).toBe(DIM);
      const hits = await search(vald, d.vector, 1);
      expect(hits).toHaveLength(1);
      if (hits[0]!.id === d.id) self++;
    }
    // HNSW is approximate: a rare node may be missed by the graph
    expect(self).toBeGreaterThanOrEqual(data.length - 3);
  });
});
