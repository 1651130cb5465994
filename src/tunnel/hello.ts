// What an agent says when it dials: its stable name and the join token, sent
// as upgrade-request headers (never in the URL, which proxies like to log).
import { createHash, timingSafeEqual } from "node:crypto";

export const TUNNEL_PATH = "/connect";
export const AGENT_NAME_HEADER = "x-alvd-agent-name";
/** bumped on incompatible changes to frames.ts; the server refuses other versions */
export const TUNNEL_VERSION = "1";
export const TUNNEL_VERSION_HEADER = "x-alvd-tunnel-version";
/**
 * Optional frame kinds this agent understands, comma-separated. "call": unary calls in
 * Call/Reply frames. A server sends an agent only what it listed, so servers and agents
 * of different releases keep talking during a rolling upgrade.
 */
export const TUNNEL_FEATURES_HEADER = "x-alvd-tunnel-features";
export const FEATURE_CALL = "call";
const AUTHORIZATION = "authorization";

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

export function isValidAgentName(name: string): boolean {
  return NAME_RE.test(name);
}

export function helloHeaders(name: string, token: string | undefined, takesCalls = false): Record<string, string> {
  const h: Record<string, string> = { [AGENT_NAME_HEADER]: name, [TUNNEL_VERSION_HEADER]: TUNNEL_VERSION };
  if (takesCalls) h[TUNNEL_FEATURES_HEADER] = FEATURE_CALL;
  if (token) h[AUTHORIZATION] = `Bearer ${token}`;
  return h;
}

export interface Hello {
  name: string;
  token: string | undefined;
  /** absent from clients that predate versioning; treated as the current one */
  version: string;
  /** the agent takes unary calls as Call frames */
  takesCalls: boolean;
}

export function readHello(headers: Headers): Hello {
  const auth = headers.get(AUTHORIZATION) ?? "";
  const m = /^Bearer\s+(.+)$/i.exec(auth);
  return {
    name: headers.get(AGENT_NAME_HEADER) ?? "",
    token: m?.[1]?.trim(),
    version: headers.get(TUNNEL_VERSION_HEADER) ?? TUNNEL_VERSION,
    takesCalls: (headers.get(TUNNEL_FEATURES_HEADER) ?? "").split(",").some((f) => f.trim() === FEATURE_CALL),
  };
}

/** constant-time, whatever the lengths */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = createHash("sha256").update(expected).digest();
  const b = createHash("sha256").update(given).digest();
  return timingSafeEqual(a, b);
}

/** "host:port", "ws://host:port" or a full URL → the websocket URL of the tunnel endpoint; `secure` makes host:port wss:// */
export function tunnelUrl(server: string, secure = false): string {
  let s = server.trim();
  if (!/^[a-z]+:\/\//i.test(s)) s = `${secure ? "wss" : "ws"}://${s}`;
  const u = new URL(s);
  if (u.protocol === "http:") u.protocol = "ws:";
  else if (u.protocol === "https:") u.protocol = "wss:";
  if (u.protocol !== "ws:" && u.protocol !== "wss:") throw new Error(`unsupported tunnel scheme in ${JSON.stringify(server)}`);
  if (u.pathname === "" || u.pathname === "/") u.pathname = TUNNEL_PATH;
  return u.toString();
}
