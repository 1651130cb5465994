// Agents reach servers only through the websocket tunnel they dial: join tokens,
// reconnecting after a server restart, and one agent shared by two servers.
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgent, startServer, vectors, waitForAgents, type AgentProc, type ServerProc } from "../lib/cluster";
import { getObject, search, streamInsert, valdClients } from "../lib/vald";
import { Index } from "../../src/gen/vald/v1/index_pb";

const DIM = 8;
const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function track<T extends { stop(): Promise<unknown> }>(p: T): T {
  cleanup.push(() => p.stop());
  return p;
}

test("an agent with the wrong join token is refused, with a clear log line on both sides", async () => {
  const server = track(await startServer({ dimension: DIM, embeddedAgent: false, token: "right" }));
  const good = track(await startAgent({ servers: [server.wsPort], name: "good", dimension: DIM, token: "right" }));
  const bad = track(await startAgent({ servers: [server.wsPort], name: "bad", dimension: DIM, token: "wrong" }));
  await waitForAgents(server, [good.name]);
  const end = Date.now() + 10_000;
  while (Date.now() < end && !(/token/i.test(bad.logs()) && /token/i.test(server.logs()))) await Bun.sleep(50);
  expect(bad.logs()).toMatch(/refused|rejected|unauthori[sz]ed/i);
  expect(bad.logs()).toMatch(/token/i);
  expect(server.logs()).toMatch(/token/i);
  expect(server.logs()).toContain("bad");
  const detail = await server.client(Index).indexDetail({});
  expect(Object.keys(detail.counts)).toEqual(["good"]);
});

test("an agent reconnects after the server restarts and its data is served again", async () => {
  const dir = mkdtempSync(join(tmpdir(), "alvd-reconnect-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  let server: ServerProc = await startServer({ dimension: DIM, embeddedAgent: false, extra: ["--replicas=1"] });
  const ports = [server.grpcPort, server.wsPort, server.metricsPort, server.agentPort];
  const agent = track(await startAgent({ servers: [server.wsPort], name: "keeper", dimension: DIM, indexPath: dir }));
  await waitForAgents(server, ["keeper"]);
  const data = vectors(50, DIM, 3);
  let vald = valdClients(`127.0.0.1:${server.grpcPort}`);
  expect((await streamInsert(vald, data)).every((c) => c === 0)).toBe(true);
  vald.close();
  expect(await server.stop()).toBe(0);

  server = track(await startServer({ dimension: DIM, embeddedAgent: false, ports }));
  await waitForAgents(server, ["keeper"]);
  vald = valdClients(`127.0.0.1:${server.grpcPort}`);
  try {
    for (const d of data) expect((await search(vald, d.vector, 1))[0]!.id).toBe(d.id);
  } finally {
    vald.close();
  }
  expect(agent.proc.exitCode).toBeNull();
});

test("two servers share one agent (an agent keeps a tunnel to each server it lists)", async () => {
  const s1 = track(await startServer({ dimension: DIM, embeddedAgent: false, extra: ["--replicas=1"] }));
  const s2 = track(await startServer({ dimension: DIM, embeddedAgent: false, extra: ["--replicas=1"] }));
  track(await startAgent({ servers: [s1.wsPort, s2.wsPort], name: "shared", dimension: DIM }));
  await Promise.all([waitForAgents(s1, ["shared"]), waitForAgents(s2, ["shared"])]);
  const data = vectors(20, DIM, 5);
  const v1 = valdClients(`127.0.0.1:${s1.grpcPort}`);
  const v2 = valdClients(`127.0.0.1:${s2.grpcPort}`);
  try {
    expect((await streamInsert(v1, data)).every((c) => c === 0)).toBe(true);
    for (const d of data) {
      expect((await getObject(v2, d.id)).length).toBe(DIM);
      expect((await search(v2, d.vector, 1))[0]!.id).toBe(d.id);
    }
  } finally {
    v1.close();
    v2.close();
  }
});
