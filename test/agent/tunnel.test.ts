// `alvd agent --server host:port` dials the server's tunnel endpoint and serves the
// same routes through it: a tunnel listener in this process (the server's side)
// calls the real agent process back through the websocket.
import { afterAll, beforeAll, expect, test, setDefaultTimeout } from "bun:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Agent } from "../../src/gen/core/v1/agent_pb";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { createLogger } from "../../src/observe/log";
import { listenTunnel, type TunnelListener } from "../../src/tunnel/listener";
import type { AgentSession } from "../../src/tunnel/session";
import { spawnAgent, vectors, type AgentProcess } from "./harness";

// Real processes on a shared 2-core box: start-up alone can take seconds under load.
setDefaultTimeout(30_000);

let listener: TunnelListener;
let agent: AgentProcess;
let session: Promise<AgentSession>;

beforeAll(async () => {
  let arrived!: (s: AgentSession) => void;
  session = new Promise((r) => (arrived = r));
  listener = await listenTunnel({
    host: "127.0.0.1",
    port: 0,
    token: "s3cret",
    onAgent: (s) => arrived(s),
    onAgentGone: () => undefined,
    log: createLogger({ level: "warn", format: "text" }),
  });
  agent = await spawnAgent({ dimension: 4, args: ["--name", "tunneled", "--server", `127.0.0.1:${listener.port}`, "--token", "s3cret"] });
});

afterAll(async () => {
  expect(await agent?.stop()).toBe(0);
  await listener?.close();
});

test("the server reaches every agent service through the tunnel, with the agent's codes", async () => {
  const s = await session;
  expect(s.name).toBe("tunneled");
  const v = vectors(2, 4, 3);
  const loc = await createClient(Insert, s.transport).insert({ vector: { id: "t-1", vector: v[0]! } });
  expect(loc).toMatchObject({ name: "tunneled", uuid: "t-1" });
  const res = await createClient(Search, s.transport).search({ vector: v[0]!, config: { num: 1 } });
  expect(res.results[0]?.id).toBe("t-1");
  // bidi stream with a bad item, through the tunnel
  async function* reqs() {
    yield { vector: { id: "t-2", vector: v[1]! } };
    yield { vector: { id: "t-3", vector: [1] } };
  }
  const out: (string | number)[] = [];
  for await (const r of createClient(Insert, s.transport).streamInsert(reqs())) {
    out.push(r.payload.case === "location" ? r.payload.value.uuid : (r.payload.value?.code ?? -1));
  }
  expect(out).toEqual(["t-2", Code.InvalidArgument]);
  const err = await createClient(Insert, s.transport)
    .insert({ vector: { id: "t-1", vector: v[0]! } })
    .then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
  expect(err?.code).toBe(Code.AlreadyExists);
  // the same data is on the agent's own port
  const direct = await createClient(Agent, createGrpcTransport({ baseUrl: agent.baseUrl })).indexInfo({});
  expect(direct.stored + direct.uncommitted).toBe(2);
});
