// One range of the id hash space, as every agent holds it: id → the agents holding it,
// with each copy's timestamp. Agents list concurrently and send ids and timestamps
// only, so the memory is that of the range's ids, whatever the cluster's size.
import type { AgentHandle } from "../../gateway/agents";
import type { IdLocks } from "../../gateway/id-locks";
import type { Holding } from "./plan";

const HASH_SPACE = 2 ** 32;
const PAGE = 8192;
/** ids looked at again per Fetch, held against writes meanwhile */
const RELIST_BATCH = 256;
/** short: client writes to these ids wait while a hung agent is asked */
const RELIST_TIMEOUT_MS = 5_000;

/** [from, to) of range r of n equal ranges; to = 0 means the end of the space, as the proto has it */
export function hashRange(r: number, n: number): { from: number; to: number } {
  const from = Math.floor((r * HASH_SPACE) / n);
  const end = Math.floor(((r + 1) * HASH_SPACE) / n);
  return { from, to: end >= HASH_SPACE ? 0 : end };
}

export async function listRange(peers: readonly AgentHandle[], r: number, n: number, signal: AbortSignal): Promise<Map<string, Holding[]>> {
  const { from, to } = hashRange(r, n);
  const out = new Map<string, Holding[]>();
  await Promise.all(
    peers.map(async (agent, peer) => {
      for await (const page of agent.clients.replica.list({ hashFrom: from, hashTo: to, pageSize: PAGE }, { signal })) {
        const { ids, timestamps } = page;
        for (let i = 0; i < ids.length; i++) {
          const id = ids[i]!;
          add(out, id, { peer, ts: timestamps[i] ?? 0n });
        }
      }
    }),
  );
  return out;
}

/**
 * Lists again, from every agent, the listed ids among `touched` (ids a client write held
 * while the listing ran). Agents list one after another in time, so such an id can show
 * on one replica and not yet, or no longer, on the other; counted as it is, a write in
 * flight would read as a missing copy. Each batch is held against writes, so what the
 * agents answer is the state once those writes are over.
 */
export async function relist(peers: readonly AgentHandle[], listing: Map<string, Holding[]>, touched: Iterable<string>, locks: IdLocks, signal: AbortSignal): Promise<void> {
  const ids = [...touched].filter((id) => listing.has(id));
  for (let i = 0; i < ids.length; i += RELIST_BATCH) {
    signal.throwIfAborted();
    const batch = ids.slice(i, i + RELIST_BATCH);
    const release = await locks.acquire(batch);
    try {
      const found = await Promise.all(peers.map((a) => a.clients.replica.fetch({ ids: batch, timestampsOnly: true }, { signal, timeoutMs: RELIST_TIMEOUT_MS })));
      for (const id of batch) listing.delete(id);
      found.forEach((r, peer) => {
        for (const v of r.vectors) add(listing, v.id, { peer, ts: v.timestamp });
      });
    } finally {
      release();
    }
  }
}

function add(m: Map<string, Holding[]>, id: string, h: Holding): void {
  const list = m.get(id);
  if (list === undefined) m.set(id, [h]);
  else list.push(h);
}
