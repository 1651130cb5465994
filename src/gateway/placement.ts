// Where a new vector goes: the least-loaded agents by stored count, ties broken at
// random so equal agents fill evenly even when many inserts are placed at once.
// Draining agents get nothing new unless nothing else is left, and an agent that just
// stalled a write (--replica-timeout) comes last for a while: until the heartbeat drops
// a hung agent, every insert would otherwise pick it first (its count stopped growing)
// and pay the timeout.
import type { AgentHandle } from "./agents";

export function chooseReplicas(agents: readonly AgentHandle[], replicas: number, random: () => number = Math.random, suspects?: Suspects): AgentHandle[] {
  const open = placeable(agents);
  const n = Math.min(Math.max(1, replicas), open.length);
  const keyed = open.map((agent) => ({ agent, late: suspects?.has(agent) === true, load: agent.stored(), tie: random() }));
  keyed.sort((a, b) => Number(a.late) - Number(b.late) || a.load - b.load || a.tie - b.tie);
  return keyed.slice(0, n).map((k) => k.agent);
}

/** agents that recently let a write time out, for a while after */
export class Suspects {
  private readonly until = new WeakMap<AgentHandle, number>();

  constructor(private readonly forMs = 5000) {}

  mark(agent: AgentHandle): void {
    this.until.set(agent, performance.now() + this.forMs);
  }

  has(agent: AgentHandle): boolean {
    const t = this.until.get(agent);
    return t !== undefined && t > performance.now();
  }
}

/** the agents new vectors may go to: all but draining ones (all, if every one drains) */
export function placeable(agents: readonly AgentHandle[]): readonly AgentHandle[] {
  if (!agents.some((a) => a.draining())) return agents;
  const open = agents.filter((a) => !a.draining());
  return open.length > 0 ? open : agents;
}
