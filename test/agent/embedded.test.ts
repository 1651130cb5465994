// startAgent as the server embeds it: the engine and routes in-process (a router
// transport, no serialization over a socket), the agent's own port alongside, and
// Unavailable once stop() has begun.
import { expect, test, setDefaultTimeout } from "bun:test";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Registry } from "../../src/observe/prom";
import { startAgent } from "../../src/agent/run";
import { agentConfig, type AgentConfig } from "../../src/config/config";
import { Agent } from "../../src/gen/core/v1/agent_pb";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { createLogger } from "../../src/observe/log";

// Real processes on a shared 2-core box: start-up alone can take seconds under load.
setDefaultTimeout(30_000);

// the typed config as the flag parser builds it, so new settings get their defaults
const cfg: AgentConfig = agentConfig(
  [
    "--name=embedded",
    "--server=",
    "--grpc-host=127.0.0.1",
    "--grpc-port=0",
    "--metrics-host=127.0.0.1",
    "--metrics-port=0",
    "--dimension=3",
    "--creation-edge-size=16",
    "--create-index-threshold=0",
    "--check-index-interval=0",
    "--save-interval=0",
    "--index-threads=1",
    "--log-level=warn",
  ],
  {},
);

test("in-process calls, the agent port and Unavailable while stopping", async () => {
  const log = createLogger(cfg.log);
  const agent = await startAgent(cfg, log, new Registry());
  try {
    expect(agent.name).toBe("embedded");
    expect(agent.port).toBeGreaterThan(0);
    expect(agent.ready()).toBe(true);
    expect(agent.engine.options.expansionAdd).toBe(128);

    const local = createRouterTransport(agent.routes);
    await createClient(Insert, local).insert({ vector: { id: "a", vector: [1, 2, 3] } });
    expect(agent.engine.exists("a")).toBe(true);
    const viaPort = createGrpcTransport({ baseUrl: `http://127.0.0.1:${agent.port}` });
    const res = await createClient(Search, viaPort).search({ vector: [1, 2, 3], config: { num: 1 } });
    expect(res.results[0]?.id).toBe("a");
    const info = await createClient(Agent, local).indexInfo({});
    expect([info.stored, info.uncommitted]).toEqual([0, 1]);
  } finally {
    const stopping = agent.stop();
    expect(agent.ready()).toBe(false);
    const err = await createClient(Agent, createRouterTransport(agent.routes))
      .indexInfo({})
      .then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    expect(err?.code).toBe(Code.Unavailable);
    await stopping;
  }
});
