// Connections come and go: disconnects fail calls fast, tokens are checked,
// a same-name reconnect replaces, agents come back after a server restart,
// and one process can keep tunnels to several servers.
import { afterEach, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { Search_ConfigSchema, Search_RequestSchema } from "../../src/gen/payload/v1/payload_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { AGENT_NAME_HEADER, TUNNEL_VERSION_HEADER } from "../../src/tunnel/hello";
import { listenTunnel } from "../../src/tunnel/listener";
import type { AgentSession } from "../../src/tunnel/session";
import { dialTunnel, type DialState } from "../../src/tunnel/dialer";
import { logSink, observe, SessionWatch, startHarness, testRouter, type Harness } from "./fixture";

const req = (requestId: string) =>
  create(Search_RequestSchema, { vector: [1], config: create(Search_ConfigSchema, { requestId }) });

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function harness(...args: Parameters<typeof startHarness>): Promise<Harness> {
  const h = await startHarness(...args);
  cleanups.push(() => h.close());
  return h;
}

async function who(s: AgentSession): Promise<string> {
  return (await createClient(Search, s.transport).search(req("who"))).requestId;
}

test("agent disconnect fails in-flight calls with Unavailable and reports the agent gone", async () => {
  const h = await harness();
  const { dialer } = h.dial("a1");
  const s = await h.watch.session("a1");
  const started = h.seen.nextStart();
  const call = createClient(Search, s.transport).search(req("slow")).catch((e) => ConnectError.from(e));
  await started;
  await dialer.close();
  const err = (await call) as ConnectError;
  expect(err.code).toBe(Code.Unavailable);
  await h.watch.until(() => h.watch.gone.includes(s), "onAgentGone");
  expect(s.signal.aborted).toBe(true);
  // new calls on a gone session fail the same way, without waiting
  const late = await createClient(Search, s.transport).search(req("x")).catch((e) => ConnectError.from(e));
  expect((late as ConnectError).code).toBe(Code.Unavailable);
  expect(h.listener.sessions()).toEqual([]);
});

test("server-side drop of a session fails its calls and the agent redials", async () => {
  const h = await harness();
  h.dial("a1");
  const s = await h.watch.session("a1");
  const started = h.seen.nextStart();
  const call = createClient(Search, s.transport).search(req("slow")).catch((e) => ConnectError.from(e));
  await started;
  s.close("test kick");
  expect(((await call) as ConnectError).code).toBe(Code.Unavailable);
  const again = await h.watch.session("a1");
  expect(again.id).not.toBe(s.id);
  expect(await who(again)).toBe("a1");
});

test("wrong join token is refused on both ends and retried", async () => {
  const h = await harness({ token: "s3cret" });
  const bad = h.dial("a1", { token: "wrong" });
  await h.watch.until(() => bad.states.filter((x) => x.state === "refused").length >= 2, "refusals with retry");
  const refusal = bad.states.find((x) => x.state === "refused");
  expect(refusal && "reason" in refusal ? refusal.reason : "").toContain("join token");
  expect(bad.states.some((x) => x.state === "connected")).toBe(false);
  expect(bad.dialer.connected).toBe(false);
  expect(h.watch.up).toEqual([]);
  expect(h.serverLog.lines.some((l) => l.includes("agent refused: join token missing or wrong"))).toBe(true);
  expect(bad.log.lines.some((l) => l.includes("tunnel refused by server"))).toBe(true);
  const none = h.dial("a2");
  await h.watch.until(() => none.states.some((x) => x.state === "refused"), "refusal without token");
  const good = h.dial("a3", { token: "s3cret" });
  expect(await who(await h.watch.session("a3"))).toBe("a3");
  expect(good.states.some((x) => x.state === "connected")).toBe(true);
  expect(h.watch.up.map((x) => x.name)).toEqual(["a3"]);
});

test("same-name reconnect replaces the old session", async () => {
  const h = await harness();
  // the first dialer waits long before redialing so it does not take the name back mid-test
  const first = h.dial("dup", { backoff: { initialMs: 5000, maxMs: 5000 } });
  const old = await h.watch.session("dup");
  const started = h.seen.nextStart();
  const call = createClient(Search, old.transport).search(req("slow")).catch((e) => ConnectError.from(e));
  await started;
  h.dial("dup");
  await h.watch.until(() => h.watch.up.length === 2, "second session");
  const fresh = h.watch.up[1]!;
  expect(((await call) as ConnectError).code).toBe(Code.Unavailable);
  expect(old.signal.aborted).toBe(true);
  expect(h.watch.gone).toEqual([old]);
  expect(h.listener.sessions()).toEqual([fresh]);
  expect(await who(fresh)).toBe("dup");
  await first.dialer.close();
});

test("agent reconnects after a server restart on the same port", async () => {
  const watch = new SessionWatch();
  const log = logSink();
  const listen = (port: number) => listenTunnel({ host: "127.0.0.1", port, ...watch, log: log.log });
  const first = await listen(0);
  const port = first.port;
  const dialer = dialTunnel({
    server: `127.0.0.1:${port}`,
    name: "a1",
    handlers: testRouter("a1", observe()).handlers,
    log: log.log,
    backoff: { initialMs: 20, maxMs: 200 },
  });
  cleanups.push(() => dialer.close());
  const s = await watch.session("a1");
  expect(await who(s)).toBe("a1");
  await first.close();
  await watch.until(() => watch.gone.includes(s), "gone after stop");
  await watch.until(() => !dialer.connected, "agent notices");
  const second = await listen(port);
  cleanups.push(() => second.close());
  await watch.until(() => watch.up.length === 2 && !watch.up[1]!.signal.aborted, "reconnect");
  expect(await who(watch.up[1]!)).toBe("a1");
  expect(dialer.connected).toBe(true);
});

test("one process keeps tunnels to two servers", async () => {
  const a = await harness();
  const b = await harness();
  a.dial("agent-x");
  b.dial("agent-x");
  const [sa, sb] = await Promise.all([a.watch.session("agent-x"), b.watch.session("agent-x")]);
  const res = await Promise.all([who(sa), who(sb), who(sa), who(sb)]);
  expect(res).toEqual(["agent-x", "agent-x", "agent-x", "agent-x"]);
});

test("a silent peer is dropped after missed heartbeats", async () => {
  const h = await harness({ pingIntervalMs: 50, pingMisses: 3 });
  // a client that says hello and then never answers a ping
  const ws = new WebSocket(`ws://127.0.0.1:${h.listener.port}/connect`, { headers: { [AGENT_NAME_HEADER]: "mute" } });
  cleanups.push(async () => ws.close());
  const s = await h.watch.session("mute");
  await h.watch.until(() => h.watch.gone.includes(s), "heartbeat drop");
  expect((s.signal.reason as ConnectError).rawMessage).toContain("no heartbeat");
});

test("an agent drops a silent server after missed heartbeats and redials", async () => {
  // a server that accepts the websocket and then never says anything
  const mute = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (r, srv) => (srv.upgrade(r, { data: undefined }) ? undefined : new Response("no", { status: 400 })),
    websocket: { message() {} },
  });
  cleanups.push(async () => void (await mute.stop(true)));
  const states: DialState[] = [];
  const log = logSink();
  const dialer = dialTunnel({
    server: `127.0.0.1:${mute.port}`,
    name: "a1",
    handlers: [],
    log: log.log,
    onState: (s) => void states.push(s),
    backoff: { initialMs: 20, maxMs: 50 },
    pingIntervalMs: 50,
    pingMisses: 2,
  });
  cleanups.push(() => dialer.close());
  const watch = new SessionWatch();
  await watch.until(() => states.filter((s) => s.state === "connecting").length >= 2, "redial");
  const lost = states.find((s) => s.state === "disconnected");
  expect(lost && "reason" in lost ? lost.reason : "").toContain("no heartbeat");
});

test("a client speaking another tunnel version is refused with a reason", async () => {
  const h = await harness();
  const closed = new Promise<CloseEvent>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${h.listener.port}/connect`, {
      headers: { [AGENT_NAME_HEADER]: "future", [TUNNEL_VERSION_HEADER]: "99" },
    });
    ws.onclose = resolve;
  });
  const ev = await closed;
  expect(ev.code).toBe(4400);
  expect(ev.reason).toContain("tunnel version 99");
  expect(h.watch.up).toEqual([]);
});

test("listening on a taken port fails with a clear error", async () => {
  const h = await harness();
  const err = await listenTunnel({ host: "127.0.0.1", port: h.listener.port, ...new SessionWatch(), log: logSink().log }).catch(
    (e: Error) => e,
  );
  expect(err).toBeInstanceOf(Error);
  expect((err as Error).message).toContain(`cannot listen on 127.0.0.1:${h.listener.port}`);
});

test("heartbeats measure the round trip", async () => {
  const h = await harness({ pingIntervalMs: 50 });
  h.dial("a1");
  const s = await h.watch.session("a1");
  await h.watch.until(() => s.stats().rttMs !== undefined, "a pong");
  expect(s.stats().rttMs).toBeGreaterThanOrEqual(0);
});

test("an agent the server keeps dropping at once is retried ever slower", async () => {
  // like a registry refusing a name: accept, then close right away
  const h = await harness({ onAgent: (s) => s.close("policy: not wanted here") });
  const a = h.dial("unwanted", { backoff: { initialMs: 20, maxMs: 10_000 } });
  const retries = () => a.states.flatMap((s) => (s.state === "disconnected" ? [s.retryInMs] : []));
  await h.watch.until(() => retries().length >= 4, "four retries");
  const r = retries();
  expect(r[3]!).toBeGreaterThan(r[1]!);
  expect(r[2]!).toBeGreaterThan(r[0]!);
  expect(a.log.lines.some((l) => l.includes("policy: not wanted here"))).toBe(true);
});
