// Reconnect delays: exponential with jitter, so a fleet of agents that lost
// the same server does not knock on its door in lockstep.

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
}

export const DEFAULT_BACKOFF = { initialMs: 100, maxMs: 10_000 } as const;

/** delay before retry number `attempt` (0-based): half fixed, half random */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = opts.initialMs ?? DEFAULT_BACKOFF.initialMs;
  const max = opts.maxMs ?? DEFAULT_BACKOFF.maxMs;
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
