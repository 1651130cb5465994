// Public surface of the websocket reverse tunnel: the server listens and gets
// an AgentSession (with a Connect Transport) per agent; the agent dials and
// serves its router's handlers through it.
export { listenTunnel, type TunnelListener, type TunnelListenerOptions } from "./listener";
export type { AgentSession } from "./session";
export { dialTunnel, type DialState, type DialTunnelOptions, type TunnelDialer } from "./dialer";
export { createTunnelTransport, TUNNEL_MAX_MESSAGE_BYTES, type TunnelTransportOptions } from "./transport";
export type { TunnelStats } from "./mux";
export { DEFAULT_PING_INTERVAL_MS, DEFAULT_PING_MISSES, DEFAULT_WINDOW } from "./mux";
export { DEFAULT_BACKOFF, type BackoffOptions } from "./backoff";
export { tunnelUrl, TUNNEL_PATH } from "./hello";
export { CloseCode } from "./socket";
