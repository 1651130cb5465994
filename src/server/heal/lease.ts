// One server repairs at a time. Trimming and moving delete copies: two servers acting
// on slightly different views could each drop a different "surplus" copy of one id
// and leave it with fewer than asked, or none. Copies alone would converge, deletes do
// not, so a lease it is. It is kept where every server can reach it — on the agents:
// a server repairs only while each agent it reaches granted it the lease (held until
// it expires or is given back), and agents grant one holder at a time. Two servers
// reaching a common agent can never both hold it; servers reaching disjoint agent sets
// repair disjoint data. A server that dies stops renewing; the lease passes on when
// it expires.
import { randomBytes } from "node:crypto";
import type { AgentHandle } from "../../gateway/agents";

export const LEASE_TTL_MS = 10_000;

export interface RepairLease {
  readonly holder: string;
  /** try to hold (or renew) the lease on every agent; false when some agent has another holder */
  acquire(agents: readonly AgentHandle[], signal?: AbortSignal): Promise<boolean>;
  /** renew when a third of the lease has passed; false when it was lost */
  keep(agents: readonly AgentHandle[], signal?: AbortSignal): Promise<boolean>;
  release(agents: readonly AgentHandle[]): Promise<void>;
  /** who else holds it, when acquire failed */
  readonly other: string | undefined;
}

export function createRepairLease(ttlMs = LEASE_TTL_MS): RepairLease {
  const holder = `server-${randomBytes(6).toString("hex")}`;
  let renewedAt = 0;
  let other: string | undefined;
  const ask = async (agents: readonly AgentHandle[], signal?: AbortSignal) => {
    const answers = await Promise.all(
      agents.map((a) =>
        a.clients.replica.lease({ holder, ttlMs }, { signal, timeoutMs: 5000 }).then(
          (r) => r,
          () => undefined,
        ),
      ),
    );
    const refused = answers.find((r) => r !== undefined && !r.granted);
    other = refused?.holder;
    // An agent that did not answer cannot be repaired now anyway; the others decide.
    return refused === undefined && answers.some((r) => r?.granted === true);
  };
  const lease: RepairLease = {
    holder,
    get other() {
      return other;
    },
    async acquire(agents, signal) {
      const ok = await ask(agents, signal);
      if (ok) renewedAt = performance.now();
      // Give back what we got, so the holder elsewhere can take every agent.
      else await lease.release(agents);
      return ok;
    },
    async keep(agents, signal) {
      if (performance.now() - renewedAt < ttlMs / 3) return true;
      return lease.acquire(agents, signal);
    },
    async release(agents) {
      await Promise.all(agents.map((a) => a.clients.replica.lease({ holder, release: true }, { timeoutMs: 5000 }).catch(() => undefined)));
    },
  };
  return lease;
}
