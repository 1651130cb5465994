// The gateway's view of an agent: a name, its addresses and one Connect client per
// service. Clients sit on any Transport — the websocket tunnel for remote agents, an
// in-process transport for the embedded one — so nothing below knows how calls travel.
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { Snapshot } from "../gen/alvd/cluster/v1/backup_pb";
import { Replica } from "../gen/alvd/cluster/v1/replica_pb";
import { Agent } from "../gen/core/v1/agent_pb";
import { Flush } from "../gen/vald/v1/flush_pb";
import { Index } from "../gen/vald/v1/index_pb";
import { Insert } from "../gen/vald/v1/insert_pb";
import { Object$ } from "../gen/vald/v1/object_pb";
import { Remove } from "../gen/vald/v1/remove_pb";
import { Search } from "../gen/vald/v1/search_pb";
import { Update } from "../gen/vald/v1/update_pb";
import { Upsert } from "../gen/vald/v1/upsert_pb";

export interface AgentClients {
  insert: Client<typeof Insert>;
  update: Client<typeof Update>;
  upsert: Client<typeof Upsert>;
  remove: Client<typeof Remove>;
  search: Client<typeof Search>;
  object: Client<typeof Object$>;
  index: Client<typeof Index>;
  flush: Client<typeof Flush>;
  agent: Client<typeof Agent>;
  /** alvd.cluster.v1.Replica: listing, conditional copies, lease (repair) */
  replica: Client<typeof Replica>;
  /** alvd.cluster.v1.Snapshot: backup checkpoints and installing a restored snapshot */
  snapshot: Client<typeof Snapshot>;
}

export interface AgentHandle {
  readonly name: string;
  readonly ips: readonly string[];
  readonly clients: AgentClients;
  /** last known stored count, including writes the gateway has in flight (placement input) */
  stored(): number;
  /** replace the count with one the agent reported (IndexInfo) */
  setStored(n: number): void;
  /** account for a write the gateway placed (+1) or undid/removed (-1) */
  adjustStored(delta: number): void;
  /** a draining agent keeps serving what it holds but gets no new vectors */
  draining(): boolean;
  setDraining(draining: boolean): void;
}

export interface AgentSet {
  /** the agents live right now; a snapshot, safe to keep while calls run */
  list(): readonly AgentHandle[];
  /** called after an agent joins or leaves; returns an unsubscribe function */
  onChange?(listener: () => void): () => void;
}

export function agentClients(transport: Transport): AgentClients {
  return {
    insert: createClient(Insert, transport),
    update: createClient(Update, transport),
    upsert: createClient(Upsert, transport),
    remove: createClient(Remove, transport),
    search: createClient(Search, transport),
    object: createClient(Object$, transport),
    index: createClient(Index, transport),
    flush: createClient(Flush, transport),
    agent: createClient(Agent, transport),
    replica: createClient(Replica, transport),
    snapshot: createClient(Snapshot, transport),
  };
}

export function createAgentHandle(init: { name: string; ips?: readonly string[]; transport: Transport; stored?: number }): AgentHandle {
  let stored = init.stored ?? 0;
  let draining = false;
  return {
    name: init.name,
    ips: init.ips ?? [],
    clients: agentClients(init.transport),
    stored: () => stored,
    setStored: (n) => {
      stored = Math.max(0, n);
    },
    adjustStored: (d) => {
      stored = Math.max(0, stored + d);
    },
    draining: () => draining,
    setDraining: (d) => {
      draining = d;
    },
  };
}

/** A mutable AgentSet for the server's registry: the tunnel adds and drops agents. */
export interface AgentPool extends AgentSet {
  /** adds or replaces (same name: a reconnect) the agent */
  add(agent: AgentHandle): void;
  /** drops the agent if `agent` is still the registered one for its name */
  remove(agent: AgentHandle | string): void;
  get(name: string): AgentHandle | undefined;
  onChange(listener: () => void): () => void;
}

export function createAgentPool(initial: Iterable<AgentHandle> = []): AgentPool {
  const byName = new Map<string, AgentHandle>();
  for (const a of initial) byName.set(a.name, a);
  let snapshot: readonly AgentHandle[] | undefined;
  const listeners = new Set<() => void>();
  const changed = () => {
    snapshot = undefined;
    for (const l of listeners) l();
  };
  return {
    list() {
      // Sorted by name so fan-out order (and tie-breaks in merges) is stable across calls.
      snapshot ??= [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      return snapshot;
    },
    add(agent) {
      byName.set(agent.name, agent);
      changed();
    },
    remove(agent) {
      const name = typeof agent === "string" ? agent : agent.name;
      const cur = byName.get(name);
      if (cur === undefined || (typeof agent !== "string" && cur !== agent)) return;
      byName.delete(name);
      changed();
    },
    get: (name) => byName.get(name),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
