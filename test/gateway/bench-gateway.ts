// Gateway overhead: the same calls to one agent served directly over gRPC and through
// the gateway (agent in-process behind it). Run: bun test/gateway/bench-gateway.ts [n]
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { agentRoutes } from "../../src/agent/routes";
import { Object$ } from "../../src/gen/vald/v1/object_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { listenRpc } from "../../src/rpc/listen";
import { log, randomVector, rng, startCluster } from "./cluster";

const N = Number(process.argv[2] ?? 1000);
const D = 128;
const c = await startCluster(1, { dimension: D });
const engine = c.agents[0]!.engine;
const r = rng(1);
for (let i = 0; i < 1000; i++) await engine.insert(`v${i}`, Float32Array.from(randomVector(r, D)), 0n, false);
const direct = await listenRpc({ host: "127.0.0.1", port: 0, log, routes: agentRoutes(engine, log) });
const viaAgent = createGrpcTransport({ baseUrl: `http://127.0.0.1:${direct.port}` });
const q = randomVector(r, D);
const targets = {
  agent: { search: createClient(Search, viaAgent), object: createClient(Object$, viaAgent) },
  gateway: { search: c.client.search, object: c.client.object },
};
for (const [label, op] of [
  ["Search num=10", (t: typeof targets.agent) => t.search.search({ vector: q, config: { num: 10 } })],
  ["Exists (miss)", (t: typeof targets.agent) => t.object.exists({ id: "nope" }).catch(() => {})],
] as const) {
  for (const [name, t] of Object.entries(targets)) {
    for (let i = 0; i < 100; i++) await op(t);
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await op(t);
    const us = ((performance.now() - t0) / N) * 1000;
    console.log(`${label.padEnd(16)} ${name.padEnd(8)} ${us.toFixed(0)} µs/call sequential`);
  }
}
await direct.close(10);
await c.close();
