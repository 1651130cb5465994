// The little the tunnel needs from a websocket, so one multiplexer serves both
// Bun's ServerWebSocket (server end) and Bun's WebSocket client (agent end),
// whose backpressure signals differ.
import type { ServerWebSocket } from "bun";

export interface RawSocket {
  /**
   * "queued": accepted, but the socket is over its high-water mark;
   * "closed": the socket is closing (its close event will follow);
   * "dropped": the socket refused the message while open (over its limit).
   */
  send(data: Uint8Array): "sent" | "queued" | "closed" | "dropped";
  close(code: number, reason: string): void;
  /** cut the connection without waiting for the peer's close frame */
  terminate(): void;
  /** resolves once the socket has room again; only called after "queued" */
  drained(): Promise<void>;
}

/** Close codes we use; 4xxx are application codes the peer logs verbatim. */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  /** the peer missed too many heartbeats */
  Timeout: 4000,
  /** a newer connection with the same agent name took over */
  Replaced: 4001,
  /** join token missing or wrong */
  Unauthorized: 4401,
  /** malformed hello (agent name) */
  BadRequest: 4400,
  /** the server is at --max-agents; the agent keeps retrying with backoff */
  TryAgainLater: 1013,
} as const;

/** Server side: Bun reports backpressure in send()'s result and calls the drain handler. */
export function serverRawSocket<T>(ws: ServerWebSocket<T>): RawSocket & { onDrain(): void } {
  let waiters: (() => void)[] = [];
  return {
    send(data) {
      if (ws.readyState !== 1) return "closed";
      const n = ws.send(data);
      return n > 0 ? "sent" : n === -1 ? "queued" : "dropped";
    },
    close: (code, reason) => ws.close(code, reason),
    terminate: () => ws.terminate(),
    drained: () => new Promise<void>((resolve) => waiters.push(resolve)),
    onDrain() {
      const w = waiters;
      waiters = [];
      for (const f of w) f();
    },
  };
}

const CLIENT_HIGH_WATER = 4 * 1024 * 1024;
const CLIENT_LOW_WATER = 1024 * 1024;
const CLIENT_POLL_MS = 2;

/** Agent side: the browser-style client has no drain event, only bufferedAmount. */
export function clientRawSocket(ws: WebSocket): RawSocket {
  return {
    send(data) {
      if (ws.readyState !== WebSocket.OPEN) return "closed";
      ws.send(data);
      return ws.bufferedAmount > CLIENT_HIGH_WATER ? "queued" : "sent";
    },
    close: (code, reason) => ws.close(code, reason),
    terminate: () => ws.terminate(),
    drained: () =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (ws.readyState !== WebSocket.OPEN || ws.bufferedAmount <= CLIENT_LOW_WATER) resolve();
          else setTimeout(check, CLIENT_POLL_MS);
        };
        check();
      }),
  };
}
