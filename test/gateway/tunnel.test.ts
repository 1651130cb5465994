// The gateway over the real websocket tunnel (in one process): agents dial in, join
// the pool, and an agent whose tunnel drops mid-call is a lost replica.
import { afterEach, expect, test } from "bun:test";
import { createConnectRouter } from "@connectrpc/connect";
import { agentRoutes } from "../../src/agent/routes";
import { createAgentHandle, createAgentPool, type AgentHandle } from "../../src/gateway/agents";
import { gatewayRoutes } from "../../src/gateway/routes";
import { listenRpc } from "../../src/rpc/listen";
import { dialTunnel, type TunnelDialer } from "../../src/tunnel/dialer";
import { listenTunnel, type TunnelListener } from "../../src/tunnel/listener";
import type { AgentSession } from "../../src/tunnel/session";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { overriding } from "./faults";
import { log, randomVector, rng, testEngine } from "./cluster";

const D = 8;
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
});

async function until(cond: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("agents joining over the tunnel serve the gateway; a tunnel dropping mid-search is a lost replica", async () => {
  const pool = createAgentPool();
  const handles = new Map<AgentSession, AgentHandle>();
  const tunnel: TunnelListener = await listenTunnel({
    host: "127.0.0.1",
    port: 0,
    log,
    onAgent: (s) => {
      const h = createAgentHandle({ name: s.name, ips: [s.remoteAddress], transport: s.transport });
      handles.set(s, h);
      pool.add(h);
    },
    onAgentGone: (s) => {
      const h = handles.get(s);
      if (h) pool.remove(h);
    },
  });
  cleanup.push(() => tunnel.close());
  const rpc = await listenRpc({ host: "127.0.0.1", port: 0, log, routes: gatewayRoutes(pool, { replicas: 2, log }) });
  cleanup.push(() => rpc.close(50));

  // agent-2's searches hang until it is disconnected.
  let searching = 0;
  const dialers: TunnelDialer[] = [];
  for (const name of ["agent-1", "agent-2"]) {
    const engine = await testEngine(name, D);
    cleanup.push(() => engine.close());
    const slow = overriding({
      "vald.v1.Search": {
        search: (() => {
          searching++;
          return new Promise<never>(() => {});
        }) as never,
      },
    });
    const router = createConnectRouter();
    (name === "agent-2" ? slow(agentRoutes(engine, log)) : agentRoutes(engine, log))(router);
    const d = dialTunnel({ server: `127.0.0.1:${tunnel.port}`, name, handlers: router.handlers, log });
    dialers.push(d);
    cleanup.push(() => d.close());
  }
  await until(() => pool.list().length === 2);

  const t = createGrpcTransport({ baseUrl: `http://127.0.0.1:${rpc.port}` });
  const insert = createClient(Insert, t);
  const search = createClient(Search, t);
  const r = rng(41);
  const vs = Array.from({ length: 20 }, () => randomVector(r, D));
  for (let i = 0; i < 20; i++) {
    const loc = await insert.insert({ vector: { id: `t${i}`, vector: vs[i]! } });
    expect(loc.name).toBe("agent-1,agent-2");
  }

  // Search with a long timeout: agent-2 hangs, then its tunnel drops; the answer comes
  // from agent-1 right away instead of waiting for the 10 s timeout.
  const pending = search.search({ vector: vs[3]!, config: { num: 3, timeout: 10_000_000_000n } });
  await until(() => searching === 1);
  let answered = false;
  void pending.then(() => (answered = true));
  await Bun.sleep(50);
  // still waiting on agent-2 while its tunnel is up: the drop is what releases the answer
  expect(answered).toBe(false);
  await dialers[1]!.close();
  // released by the drop, not by the request's own 10 s timeout
  const first = await Promise.race([pending.then(() => "answer"), Bun.sleep(9_000).then(() => "timeout")]);
  expect(first).toBe("answer");
  const res = await pending;
  expect(res.results[0]!.id).toBe("t3");
  await until(() => pool.list().length === 1);
  expect(pool.list().map((a) => a.name)).toEqual(["agent-1"]);
  // writes go on with the agent left
  expect((await insert.insert({ vector: { id: "after", vector: vs[0]! } })).name).toBe("agent-1");
});
