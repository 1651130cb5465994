// Keeps the gateway's agent pool in step with the tunnel: an agent joins the pool
// when its tunnel opens and leaves it the moment the tunnel closes, so the gateway
// never routes a call to a dead connection. Membership (heal/membership.ts) hears of
// both, to tell an agent that is away from one that is lost.
import { Counter, Gauge, type Registry } from "../observe/prom";
import type { AgentHandle, AgentPool } from "../gateway/agents";
import { createAgentHandle } from "../gateway/agents";
import type { Logger } from "../observe/log";
import type { AgentSession } from "../tunnel/session";
import type { Membership } from "./heal/membership";

export interface TunnelRegistry {
  onAgent(session: AgentSession): void;
  onAgentGone(session: AgentSession): void;
  /** the tunnel the pool's agent of that name came through */
  session(name: string): AgentSession | undefined;
}

export function tunnelRegistry(pool: AgentPool, registry: Registry, log: Logger, reserved: ReadonlySet<string>, membership?: Membership): TunnelRegistry {
  const handles = new Map<AgentSession, AgentHandle>();
  const seen = new Set<string>();
  const joins = new Counter({
    name: "alvd_tunnel_connections_total",
    help: "Agent tunnel connections accepted, by whether the agent had been connected before (reconnect)",
    labelNames: ["reconnect"],
    registers: [registry],
  });
  const leaves = new Counter({
    name: "alvd_tunnel_disconnects_total",
    help: "Agent tunnel connections that ended",
    registers: [registry],
  });
  // Traffic of sessions that ended, so the totals below never go backwards.
  const gone = { bytesSent: 0, bytesReceived: 0, messagesSent: 0, messagesReceived: 0 };
  type Traffic = keyof typeof gone;
  const traffic = (name: string, help: string, sent: Traffic, received: Traffic) =>
    new Counter({
      name,
      help,
      labelNames: ["direction"],
      registers: [registry],
      collect() {
        let out = gone[sent];
        let into = gone[received];
        for (const session of handles.keys()) {
          const st = session.stats();
          out += st[sent];
          into += st[received];
        }
        this.reset();
        this.inc({ direction: "sent" }, out);
        this.inc({ direction: "received" }, into);
      },
    });
  traffic("alvd_tunnel_bytes_total", "Bytes through agent tunnels (websocket payload), by direction as seen from the server", "bytesSent", "bytesReceived");
  // Frames of one event-loop turn share a message (tunnel/writer.ts): messages per call
  // shows how well calls coalesce, and each message costs a wake-up of the other end.
  traffic("alvd_tunnel_messages_total", "Websocket messages through agent tunnels, by direction as seen from the server", "messagesSent", "messagesReceived");
  new Gauge({
    name: "alvd_tunnel_open_streams",
    help: "Calls currently open through agent tunnels",
    registers: [registry],
    collect() {
      let open = 0;
      for (const session of handles.keys()) open += session.openStreams;
      this.set(open);
    },
  });
  return {
    onAgent(session) {
      if (reserved.has(session.name)) {
        log.error("agent refused: its name is the embedded agent's; give it another --name", { agent: session.name });
        session.close(`agent name "${session.name}" is taken by the server's embedded agent`);
        return;
      }
      const handle = createAgentHandle({ name: session.name, ips: [session.remoteAddress], transport: session.transport });
      handles.set(session, handle);
      joins.inc({ reconnect: String(seen.has(session.name)) });
      seen.add(session.name);
      pool.add(handle);
      membership?.connected(session.name);
      // Seed placement with the agent's real size (so a returning agent isn't flooded)
      // and its draining flag (kept by the agent, possibly set through another server).
      handle.clients.replica
        .state({}, { timeoutMs: 5000 })
        .then(
          (s) => {
            handle.setStored(Number(s.stored));
            handle.setDraining(s.draining);
          },
          // an agent of an older release has no Replica service: its size will do
          () => handle.clients.index.indexInfo({}, { timeoutMs: 5000 }).then((c) => handle.setStored(c.stored + c.uncommitted)),
        )
        .catch((e: Error) => log.warn("could not read agent state", { agent: session.name, err: e }));
    },
    session(name) {
      const current = pool.get(name);
      for (const [session, handle] of handles) if (handle === current) return session;
      return undefined;
    },
    onAgentGone(session) {
      const handle = handles.get(session);
      if (handle === undefined) return;
      handles.delete(session);
      const st = session.stats();
      for (const k of Object.keys(gone) as Traffic[]) gone[k] += st[k];
      leaves.inc();
      pool.remove(handle);
      if (pool.get(session.name) === undefined) membership?.disconnected(session.name);
    },
  };
}
