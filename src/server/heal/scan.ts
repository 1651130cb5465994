// One range of the id hash space, as every agent holds it: id → the agents holding it,
// with each copy's timestamp. Agents list concurrently and send ids and timestamps
// only, so the memory is that of the range's ids, whatever the cluster's size.
import type { AgentHandle } from "../../gateway/agents";
import type { Holding } from "./plan";

const HASH_SPACE = 2 ** 32;
const PAGE = 8192;

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
          const h = { peer, ts: timestamps[i] ?? 0n };
          const list = out.get(id);
          if (list === undefined) out.set(id, [h]);
          else list.push(h);
        }
      }
    }),
  );
  return out;
}
