// The repair's metrics on the server's /metrics.
import { Counter, Gauge, type Registry } from "../../observe/prom";
import type { AgentPool } from "../../gateway/agents";
import type { Membership } from "./membership";

export interface HealMetrics {
  underreplicated: Gauge;
  stale: Gauge;
  repaired: Counter;
  moved: Counter;
  trimmed: Counter;
  passes: Counter;
  leaseHeld: Gauge;
}

const STATES = ["connected", "away", "lost", "draining"] as const;

export function healMetrics(registry: Registry, membership: Membership, pool: AgentPool): HealMetrics {
  new Gauge({
    name: "alvd_cluster_agent_state",
    help: "1 for each agent's current state: connected, away (disconnected, copies still count), lost (copies repaired elsewhere), draining",
    labelNames: ["agent", "state"],
    registers: [registry],
    collect() {
      this.reset();
      for (const m of membership.list()) {
        const draining = pool.get(m.name)?.draining() === true;
        this.set({ agent: m.name, state: draining && m.state === "connected" ? "draining" : m.state }, 1);
      }
    },
  });
  new Gauge({
    name: "alvd_cluster_agents",
    help: "Agents the server knows, by state",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      const n: Record<string, number> = Object.fromEntries(STATES.map((s) => [s, 0]));
      for (const m of membership.list()) {
        const draining = pool.get(m.name)?.draining() === true;
        n[draining && m.state === "connected" ? "draining" : m.state]!++;
      }
      for (const s of STATES) this.set({ state: s }, n[s]!);
    },
  });
  return {
    underreplicated: new Gauge({
      name: "alvd_cluster_underreplicated_ids",
      help: "Ids with fewer live copies than min(--replicas, agents), as of the latest scan and the repairs since",
      registers: [registry],
    }),
    stale: new Gauge({
      name: "alvd_cluster_stale_copies",
      help: "Copies behind their id's newest timestamp, as of the latest scan",
      registers: [registry],
    }),
    repaired: new Counter({
      name: "alvd_cluster_repaired_vectors_total",
      help: "Copies written by the repair where one was missing or stale",
      registers: [registry],
    }),
    moved: new Counter({
      name: "alvd_cluster_moved_vectors_total",
      help: "Copies moved between agents (rebalance on join, drain)",
      registers: [registry],
    }),
    trimmed: new Counter({
      name: "alvd_cluster_trimmed_copies_total",
      help: "Copies above the replica count that the repair removed",
      registers: [registry],
    }),
    passes: new Counter({
      name: "alvd_cluster_repair_scans_total",
      help: "Completed scans of the whole id space",
      registers: [registry],
    }),
    leaseHeld: new Gauge({
      name: "alvd_cluster_repair_lease_held",
      help: "1 while this server holds the repair lease (with several servers, one does)",
      registers: [registry],
    }),
  };
}
