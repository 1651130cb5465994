// Server side tunnel endpoint: agents dial ws://host:port/connect, prove the
// join token, and get registered under their name. A reconnect under the same
// name replaces the older connection.
import type { ConnectError } from "@connectrpc/connect";
import type { Server, ServerWebSocket } from "bun";
import type { Logger } from "../observe/log";
import type { TlsMaterial, TlsSource } from "../security/tls-files";
import { type Hello, isValidAgentName, readHello, tokenMatches, TUNNEL_PATH, TUNNEL_VERSION } from "./hello";
import { Mux } from "./mux";
import { type AgentSession, TunnelSession } from "./session";
import { CloseCode, serverRawSocket } from "./socket";
import type { TunnelTransportOptions } from "./transport";

export interface TunnelListenerOptions {
  host: string;
  port: number;
  /** when set, agents must present exactly this join token */
  token?: string;
  /** wss:// (and client certificates when the material has a client CA); undefined = ws:// */
  tls?: TlsSource;
  /** agents connected at once; one more is refused (default 1024) */
  maxAgents?: number;
  /** a new agent connection is ready for calls */
  onAgent(session: AgentSession): void;
  /** an agent connection ended; fires once per session, before a replacing session's onAgent */
  onAgentGone(session: AgentSession, err: ConnectError): void;
  log: Logger;
  pingIntervalMs?: number;
  pingMisses?: number;
  /** per-stream flow-control window in bytes */
  window?: number;
  transport?: TunnelTransportOptions;
}

export interface TunnelListener {
  readonly port: number;
  /** the live sessions, one per agent name */
  sessions(): AgentSession[];
  /** refuse new agents, drop the connected ones (their calls fail with UNAVAILABLE) */
  close(): Promise<void>;
}

type Refusal = { code: number; reason: string };

interface SocketData {
  name: string;
  remote: string;
  refuse?: Refusal;
  /** the agent's hello listed the "call" feature */
  takesCalls: boolean;
  session?: TunnelSession;
  drain?: () => void;
}

/** websocket messages are at most one flush batch; leave headroom */
const MAX_WS_MESSAGE = 16 * 1024 * 1024;
/** we stop writing body chunks on backpressure, so this only bounds control frames */
const BACKPRESSURE_LIMIT = 64 * 1024 * 1024;

export function listenTunnel(opts: TunnelListenerOptions): Promise<TunnelListener> {
  const log = opts.log.with({ component: "tunnel" });
  const maxAgents = opts.maxAgents ?? 1024;
  const byName = new Map<string, TunnelSession>();
  let nextId = 1;
  let closing = false;
  // a throwing callback must not take the websocket machinery down with it
  const guard = (what: string, f: () => void) => {
    try {
      f();
    } catch (e) {
      log.error(`tunnel ${what} callback threw`, { err: e });
    }
  };

  const open = (ws: ServerWebSocket<SocketData>) => {
    const { name, remote, refuse, takesCalls } = ws.data;
    if (refuse) {
      ws.close(refuse.code, refuse.reason);
      return;
    }
    if (closing) {
      ws.close(CloseCode.GoingAway, "server shutting down");
      return;
    }
    // a reconnect under a known name replaces its session, so it never counts twice
    if (!byName.has(name) && byName.size >= maxAgents) {
      log.warn("agent refused: too many agents connected", { agent: name, remote, max: maxAgents });
      ws.close(CloseCode.TryAgainLater, `server full: ${maxAgents} agents connected (--max-agents)`);
      return;
    }
    const raw = serverRawSocket(ws);
    ws.data.drain = raw.onDrain;
    let session: TunnelSession | undefined;
    const mux = new Mux({
      raw,
      peer: `agent "${name}" (${remote})`,
      peerTakesCalls: takesCalls,
      window: opts.window,
      pingIntervalMs: opts.pingIntervalMs,
      pingMisses: opts.pingMisses,
      onClose: (err) => {
        if (!session) return;
        session.ended(err);
        if (byName.get(name) === session) byName.delete(name);
        log.info("agent disconnected", { agent: name, remote, session: session.id, reason: err.rawMessage });
        guard("onAgentGone", () => opts.onAgentGone(session!, err));
      },
    });
    session = new TunnelSession(name, nextId++, remote, mux, opts.transport);
    ws.data.session = session;
    const old = byName.get(name);
    if (old) {
      log.warn("agent reconnected; replacing its older connection", { agent: name, remote, old: old.remoteAddress });
      old.close(`replaced by a newer connection from ${remote}`, CloseCode.Replaced);
    }
    byName.set(name, session);
    log.info("agent connected", { agent: name, remote, session: session.id });
    guard("onAgent", () => opts.onAgent(session!));
  };

  const upgrade = (req: Request, srv: Server<SocketData>): Response | undefined => {
    const url = new URL(req.url);
    if (url.pathname !== TUNNEL_PATH) return new Response("not found\n", { status: 404 });
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("agents connect here with a websocket\n", { status: 426 });
    }
    const hello = readHello(req.headers);
    const remote = srv.requestIP(req)?.address ?? "unknown";
    // Refusals go through the upgrade and a close frame: a browser-style
    // client sees only "1006" for a plain HTTP 401, but it sees close reasons.
    const refuse = refusal(hello, remote);
    if (srv.upgrade(req, { data: { name: hello.name, remote, refuse, takesCalls: hello.takesCalls } })) return undefined;
    return new Response("websocket upgrade failed\n", { status: 400 });
  };

  const refusal = (hello: Hello, remote: string): Refusal | undefined => {
    if (!isValidAgentName(hello.name)) {
      log.warn("agent refused: missing or malformed agent name", { remote, name: hello.name });
      return { code: CloseCode.BadRequest, reason: "bad request: missing or malformed agent name" };
    }
    if (hello.version !== TUNNEL_VERSION) {
      log.warn("agent refused: unsupported tunnel protocol version", { agent: hello.name, remote, version: hello.version });
      return { code: CloseCode.BadRequest, reason: `bad request: tunnel version ${hello.version}, server speaks ${TUNNEL_VERSION}` };
    }
    if (opts.token && !tokenMatches(opts.token, hello.token)) {
      log.warn("agent refused: join token missing or wrong", { agent: hello.name, remote });
      return { code: CloseCode.Unauthorized, reason: "unauthorized: join token missing or wrong" };
    }
    return undefined;
  };

  // Bun.serve cannot swap its certificate: a renewed one gets a new listener on the same
  // port, and connected agents stay on the old one until they go (hence a list).
  const servers: Server<SocketData>[] = [];
  const serve = (port: number, tls: TlsMaterial | undefined) =>
    Bun.serve<SocketData, never>({
      hostname: opts.host,
      port,
      reusePort: false,
      tls: tls
        ? { cert: tls.cert, key: tls.key, ca: tls.clientCa, requestCert: tls.clientCa !== undefined, rejectUnauthorized: tls.clientCa !== undefined }
        : undefined,
      fetch: upgrade,
      websocket: {
        maxPayloadLength: MAX_WS_MESSAGE,
        backpressureLimit: BACKPRESSURE_LIMIT,
        // liveness is our own heartbeat (mux pings), not uWS's idle timer
        idleTimeout: 0,
        perMessageDeflate: false,
        open,
        message(ws, msg) {
          const s = ws.data.session;
          if (!s) return;
          if (typeof msg === "string") s.mux.close(CloseCode.ProtocolError, "text messages are not part of the tunnel protocol");
          else s.mux.receive(msg);
        },
        drain(ws) {
          ws.data.drain?.();
        },
        close(ws, code, reason) {
          ws.data.session?.mux.terminate(`socket closed (${code}${reason ? ` ${reason}` : ""})`);
        },
      },
    });
  try {
    servers.push(serve(opts.port, opts.tls?.current()));
  } catch (e) {
    return Promise.reject(new Error(`tunnel: cannot listen on ${opts.host}:${opts.port}: ${(e as Error).message}`));
  }

  const port = servers[0]!.port ?? opts.port;
  const unsubscribe = opts.tls?.onChange((m) => {
    void servers.at(-1)!.stop(false);
    servers.push(serve(port, m));
  });
  log.info("tunnel listening", {
    host: opts.host,
    port,
    path: TUNNEL_PATH,
    scheme: opts.tls ? "wss" : "ws",
    auth: opts.token ? "token" : "none",
    clientCerts: opts.tls?.current().clientCa ? "required" : "not asked",
  });
  return Promise.resolve({
    port,
    sessions: () => [...byName.values()],
    async close() {
      closing = true;
      unsubscribe?.();
      for (const s of [...byName.values()]) s.close("server shutting down", CloseCode.GoingAway);
      await Promise.all(servers.map((s) => s.stop(true)));
    },
  });
}
