// Where a new vector goes: the least-loaded agents by stored count, ties broken at
// random so equal agents fill evenly even when many inserts are placed at once.
// Draining agents get nothing new unless nothing else is left.
import type { AgentHandle } from "./agents";

export function chooseReplicas(agents: readonly AgentHandle[], replicas: number, random: () => number = Math.random): AgentHandle[] {
  const open = placeable(agents);
  const n = Math.min(Math.max(1, replicas), open.length);
  const keyed = open.map((agent) => ({ agent, load: agent.stored(), tie: random() }));
  keyed.sort((a, b) => a.load - b.load || a.tie - b.tie);
  return keyed.slice(0, n).map((k) => k.agent);
}

/** the agents new vectors may go to: all but draining ones (all, if every one drains) */
export function placeable(agents: readonly AgentHandle[]): readonly AgentHandle[] {
  if (!agents.some((a) => a.draining())) return agents;
  const open = agents.filter((a) => !a.draining());
  return open.length > 0 ? open : agents;
}
