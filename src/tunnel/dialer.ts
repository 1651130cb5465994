// Agent side: dial the server's tunnel endpoint (the agent may sit behind NAT),
// serve the server's calls with the agent's own Connect handlers, and keep
// redialing with jittered backoff until closed. An agent listing several
// servers runs one dialer per server.
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import type { Logger } from "../observe/log";
import { backoffDelay, type BackoffOptions } from "./backoff";
import { createCallDispatcher, createCallServer, type FastUnary } from "./dispatch";
import { helloHeaders, isValidAgentName, tunnelUrl } from "./hello";
import { Mux } from "./mux";
import { clientRawSocket, CloseCode } from "./socket";

export type DialState =
  | { state: "connecting"; url: string; attempt: number }
  | { state: "connected"; url: string }
  | { state: "disconnected"; url: string; reason: string; retryInMs: number }
  /** the server turned us away (wrong token, bad name); we keep retrying */
  | { state: "refused"; url: string; reason: string; retryInMs: number }
  | { state: "closed"; url: string };

export interface DialTunnelOptions {
  /** "host:port" or a ws:// / wss:// URL; the path defaults to /connect */
  server: string;
  /** dial host:port addresses with wss:// */
  secure?: boolean;
  /** TLS settings for wss://, asked for at every dial so renewed files take effect */
  tls?: () => DialTls;
  /** stable agent name; a reconnect under the same name replaces the old connection */
  name: string;
  token?: string;
  /** `router.handlers` of the router that also serves the agent's gRPC port */
  handlers: readonly UniversalHandler[];
  /** unary calls of the same routes run in-process, skipping Connect's handler pipeline */
  fastUnary?: FastUnary;
  log: Logger;
  onState?: (s: DialState) => void;
  backoff?: BackoffOptions;
  pingIntervalMs?: number;
  pingMisses?: number;
  /** per-stream flow-control window in bytes */
  window?: number;
}

export interface DialTls {
  /** PEM CA bundle to verify the server with; undefined = the system store */
  ca?: string;
  /** client certificate and key, for servers that require one (mTLS) */
  cert?: string;
  key?: string;
}

export interface TunnelDialer {
  readonly url: string;
  readonly connected: boolean;
  /** stop redialing and drop the connection; in-flight calls are abandoned */
  close(): Promise<void>;
}

interface Outcome {
  opened: boolean;
  /** how long the connection was up (0 if it never opened) */
  upMs: number;
  code: number;
  reason: string;
}

/**
 * A connection must last this long before the backoff starts over; a server
 * that accepts and at once drops us (policy, crash loop) is retried ever slower.
 */
const STABLE_MS = 3000;

/** how long close() waits for the server's close frame before cutting the socket */
const CLOSE_GRACE_MS = 500;

function isRefusal(o: Outcome): boolean {
  // 401 covers servers that refuse at the HTTP upgrade instead of with a close frame
  return o.code === CloseCode.Unauthorized || o.code === CloseCode.BadRequest || /status code: 40[13]\b/.test(o.reason);
}

export function dialTunnel(opts: DialTunnelOptions): TunnelDialer {
  const url = tunnelUrl(opts.server, opts.secure);
  if (!isValidAgentName(opts.name)) throw new Error(`invalid agent name ${JSON.stringify(opts.name)}`);
  const log = opts.log.with({ component: "tunnel", server: url });
  const dispatch = createCallDispatcher(opts.handlers, log, opts.fastUnary);
  const serveCall = opts.fastUnary ? createCallServer(opts.fastUnary) : undefined;
  let stopped = false;
  let socket: WebSocket | undefined;
  let mux: Mux | undefined;
  /** the server accepted our hello on the current socket */
  let live = false;
  let wake: (() => void) | undefined;

  const report = (s: DialState) => {
    try {
      opts.onState?.(s);
    } catch (e) {
      log.warn("tunnel onState callback threw", { err: e });
    }
  };

  const connectOnce = () =>
    new Promise<Outcome>((resolve) => {
      const tls = url.startsWith("wss:") ? opts.tls?.() : undefined;
      const ws = new WebSocket(url, { headers: helloHeaders(opts.name, opts.token, serveCall !== undefined), perMessageDeflate: false, tls });
      ws.binaryType = "nodebuffer";
      socket = ws;
      let opened = false;
      let openedAt = 0;
      let error = "";
      ws.onopen = () => {
        opened = true;
        openedAt = performance.now();
        mux = new Mux({
          raw: clientRawSocket(ws),
          peer: `server ${url}`,
          onRequest: dispatch,
          onCall: serveCall,
          window: opts.window,
          pingIntervalMs: opts.pingIntervalMs,
          pingMisses: opts.pingMisses,
        });
      };
      // The server pings as soon as it accepts our hello; a refusal is a close
      // frame instead. So the first message, not "open", means connected.
      ws.onmessage = (ev) => {
        if (!live && mux) {
          live = true;
          log.info("tunnel connected", { agent: opts.name });
          report({ state: "connected", url });
        }
        if (typeof ev.data === "string") mux?.close(CloseCode.ProtocolError, "text messages are not part of the tunnel protocol");
        else mux?.receive(ev.data as Uint8Array);
      };
      ws.onerror = (ev) => {
        error = (ev as ErrorEvent).message ?? "websocket error";
      };
      ws.onclose = (ev) => {
        // the peer's close reason first; else our own (heartbeat lost, protocol
        // error) explains more than a bare 1006
        const reason = ev.reason || mux?.closed?.rawMessage || error || "connection closed";
        mux?.terminate(`socket closed (${ev.code} ${reason})`);
        mux = undefined;
        live = false;
        socket = undefined;
        resolve({ opened, upMs: opened ? performance.now() - openedAt : 0, code: ev.code, reason });
      };
    });

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });

  const run = async () => {
    let attempt = 0;
    while (!stopped) {
      report({ state: "connecting", url, attempt });
      const o = await connectOnce();
      if (stopped) break;
      const refused = isRefusal(o);
      // Two live agents sharing a name would take the name from each other in
      // a tight loop; keep growing the delay so the flapping stays slow.
      const replaced = o.code === CloseCode.Replaced;
      if (o.upMs >= STABLE_MS && !refused && !replaced) attempt = 0;
      const retryInMs = backoffDelay(attempt++, opts.backoff);
      if (replaced) {
        log.error("tunnel taken over by another connection with the same agent name; is this name used twice?", {
          agent: opts.name,
          retryInMs,
        });
        report({ state: "disconnected", url, reason: o.reason, retryInMs });
      } else if (refused) {
        log.error("tunnel refused by server; retrying", { agent: opts.name, code: o.code, reason: o.reason, retryInMs });
        report({ state: "refused", url, reason: o.reason, retryInMs });
      } else if (o.opened) {
        log.warn("tunnel lost; reconnecting", { agent: opts.name, code: o.code, reason: o.reason, retryInMs });
        report({ state: "disconnected", url, reason: o.reason, retryInMs });
      } else {
        log.warn("tunnel connect failed; retrying", { agent: opts.name, reason: o.reason, retryInMs });
        report({ state: "disconnected", url, reason: o.reason, retryInMs });
      }
      await sleep(retryInMs);
    }
    report({ state: "closed", url });
  };
  const loop = run();

  return {
    url,
    get connected() {
      return live && mux !== undefined && !mux.closed;
    },
    async close() {
      stopped = true;
      wake?.();
      const ws = socket;
      if (ws) {
        if (mux) mux.close(CloseCode.GoingAway, "agent shutting down");
        else ws.close(CloseCode.GoingAway, "agent shutting down");
        const cut = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
        await loop;
        clearTimeout(cut);
      } else {
        await loop;
      }
    },
  };
}
