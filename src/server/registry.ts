// Keeps the gateway's agent pool in step with the tunnel: an agent joins the pool
// when its tunnel opens and leaves it the moment the tunnel closes, so the gateway
// never routes a call to a dead connection.
import { Counter, Gauge, type Registry } from "prom-client";
import type { AgentHandle, AgentPool } from "../gateway/agents";
import { createAgentHandle } from "../gateway/agents";
import type { Logger } from "../observe/log";
import type { AgentSession } from "../tunnel/session";

export interface TunnelRegistry {
  onAgent(session: AgentSession): void;
  onAgentGone(session: AgentSession): void;
}

export function tunnelRegistry(pool: AgentPool, registry: Registry, log: Logger, reserved: ReadonlySet<string>): TunnelRegistry {
  const handles = new Map<AgentSession, AgentHandle>();
  const seen = new Set<string>();
  new Gauge({
    name: "alvd_agents_connected",
    help: "Agents the gateway can route to (tunnelled plus the embedded one)",
    registers: [registry],
    collect() {
      this.set(pool.list().length);
    },
  });
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
      // Seed placement with the agent's real size so a returning agent isn't flooded.
      handle.clients.index.indexInfo({}, { timeoutMs: 5000 }).then(
        (c) => handle.setStored(c.stored),
        (e: Error) => log.warn("could not read agent index info", { agent: session.name, err: e }),
      );
    },
    onAgentGone(session) {
      const handle = handles.get(session);
      if (handle === undefined) return;
      handles.delete(session);
      leaves.inc();
      pool.remove(handle);
    },
  };
}
