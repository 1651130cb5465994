// Server side view of one connected agent: a name, a Connect transport to its
// services, and a signal that fires when the connection is gone.
import type { ConnectError, Transport } from "@connectrpc/connect";
import type { Mux, TunnelStats } from "./mux";
import { CloseCode } from "./socket";
import { createTunnelTransport, type TunnelTransportOptions } from "./transport";

export interface AgentSession {
  /** the agent's stable name (from its hello) */
  readonly name: string;
  /** unique per connection within one listener; a reconnect gets a new id */
  readonly id: number;
  readonly remoteAddress: string;
  readonly connectedAt: Date;
  /** createClient(Search, session.transport) calls the agent through the tunnel */
  readonly transport: Transport;
  /** aborted, with an UNAVAILABLE ConnectError as reason, when the connection ends */
  readonly signal: AbortSignal;
  /** calls currently open on this connection */
  readonly openStreams: number;
  /** traffic counters of this connection */
  stats(): TunnelStats;
  /**
   * Drop the agent; in-flight calls fail with UNAVAILABLE. The reason reaches
   * the agent's log. The agent redials with growing delays; code (a websocket
   * close code, e.g. CloseCode.Unauthorized) tells it why.
   */
  close(reason?: string, code?: number): void;
}

export class TunnelSession implements AgentSession {
  readonly connectedAt = new Date();
  readonly transport: Transport;
  private readonly controller = new AbortController();

  constructor(
    readonly name: string,
    readonly id: number,
    readonly remoteAddress: string,
    readonly mux: Mux,
    transportOpts: TunnelTransportOptions | undefined,
  ) {
    this.transport = createTunnelTransport(mux, transportOpts);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get openStreams(): number {
    return this.mux.openStreams;
  }

  stats(): TunnelStats {
    return this.mux.stats();
  }

  close(reason = "closed by server", code: number = CloseCode.Normal): void {
    this.mux.close(code, reason);
  }

  /** called once by the listener when the mux reports the end */
  ended(err: ConnectError): void {
    this.controller.abort(err);
  }
}
