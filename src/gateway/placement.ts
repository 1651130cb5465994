// Where a new vector goes: the least-loaded agents by stored count, ties broken at
// random so equal agents fill evenly even when many inserts are placed at once.
import type { AgentHandle } from "./agents";

export function chooseReplicas(agents: readonly AgentHandle[], replicas: number, random: () => number = Math.random): AgentHandle[] {
  const n = Math.min(Math.max(1, replicas), agents.length);
  const keyed = agents.map((agent) => ({ agent, load: agent.stored(), tie: random() }));
  keyed.sort((a, b) => a.load - b.load || a.tie - b.tie);
  return keyed.slice(0, n).map((k) => k.agent);
}
