// Embedded-agent transports compared: direct calls vs createRouterTransport (full
// Connect protocol in memory). Run: bun test/gateway/bench-transport.ts
import { createRouterTransport } from "@connectrpc/connect";
import { agentRoutes } from "../../src/agent/routes";
import { createAgentHandle, type AgentHandle } from "../../src/gateway/agents";
import { createDirectTransport } from "../../src/rpc/direct-transport";
import { log, randomVector, rng, testEngine } from "./cluster";

const D = 784;
const N = Number(process.argv[2] ?? 3000);
const engine = await testEngine("bench", D);
const routes = agentRoutes(engine, log);
const handles: Record<string, AgentHandle> = {
  direct: createAgentHandle({ name: "direct", transport: createDirectTransport(routes) }),
  router: createAgentHandle({ name: "router", transport: createRouterTransport(routes) }),
};
const r = rng(1);
const vectors = Array.from({ length: 256 }, () => randomVector(r, D));
for (let i = 0; i < 64; i++) await engine.insert(`seed-${i}`, Float32Array.from(vectors[i]!), 0n, false);

async function run(label: string, conc: number, op: (h: AgentHandle, i: number) => Promise<unknown>) {
  for (const [name, h] of Object.entries(handles)) {
    for (let i = 0; i < 200; i++) await op(h, i); // warm up
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: conc }, async () => {
        while (next < N) await op(h, next++);
      }),
    );
    const s = (performance.now() - t0) / 1000;
    console.log(`${label.padEnd(28)} ${name.padEnd(7)} conc=${String(conc).padEnd(3)} ${Math.round(N / s)} calls/s  ${((s / N) * 1e6).toFixed(0)} µs/call`);
  }
}

for (const conc of [1, 32]) {
  // Exists on a small index: almost pure transport cost.
  await run("Exists", conc, (h) => h.clients.object.exists({ id: "seed-1" }));
  // GetObject returns 784 floats: the response-size cost.
  await run("GetObject (784-d)", conc, (h) => h.clients.object.getObject({ id: { id: "seed-2" } }));
  // Update (784 floats in), not changing counts.
  await run("Update (784-d in)", conc, (h, i) =>
    h.clients.update.update({ vector: { id: "seed-3", vector: vectors[i % 256]! }, config: { skipStrictExistCheck: true } }).catch(() => {}),
  );
}
await engine.close();
