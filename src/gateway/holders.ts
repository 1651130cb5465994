// Writes to an existing id go to every agent: those that hold it apply the write,
// the rest answer NotFound. One round trip and no extra state, instead of an Exists
// fan-out followed by the write on the holders.
import { Code, ConnectError } from "@connectrpc/connect";
import type { Object_Location } from "../gen/payload/v1/payload_pb";
import type { AgentHandle } from "./agents";
import type { Gateway } from "./context";
import { gatewayError, mostMeaningful, noAgents, relay } from "./errors";
import { fanOut, gatherUntil, split, type AgentCall, type CallScope, type Split } from "./fanout";
import { replicaLocation } from "./location";

/**
 * Broadcasts a write; `undefined` when no agent holds the id (every agent that
 * answered said NotFound). Throws the most meaningful agent error if any holder
 * failed — replicas may then differ and the client should retry — and Unavailable
 * when no agent answered at all.
 */
export async function writeHolders<T>(gw: Gateway, rpc: string, id: string, scope: CallScope, call: AgentCall<T>): Promise<Split<T> | undefined> {
  const agents = gw.agents.list();
  if (agents.length === 0) throw noAgents(rpc, id);
  // Once a holder has applied the write, agents silent past --replica-timeout are left
  // behind as lost replicas (a hung one). Their call goes on: a slow agent still applies
  // it, and what a hung one misses the repair corrects (newest timestamp wins; a missed
  // remove is a tombstone). Until some holder answered, everyone is waited for: the
  // silent one may be the only holder.
  const outcomes =
    gw.replicaTimeoutMs > 0 && agents.length > 1
      ? await gatherUntil(gw, agents, rpc, scope, call, {
          enough: (settled) => settled.some((o) => o.ok),
          minWaitMs: gw.replicaTimeoutMs,
          reason: "no answer within --replica-timeout",
          letRun: true,
        })
      : await fanOut(gw, agents, rpc, scope, call);
  const s = split(outcomes);
  if (s.failed.length > 0) {
    if (s.ok.length > 0) {
      gw.log.warn("write applied on some replicas only", { rpc, id, ok: names(s.ok), failed: names(s.failed) });
    }
    throw relay(mostMeaningful(s.failed.map((f) => f.error)));
  }
  if (s.lost.length > 0) gw.log.warn("replica lost during write", { rpc, id, lost: names(s.lost) });
  if (s.ok.length > 0) return s;
  if (s.notFound.length > 0) return undefined;
  throw relay(mostMeaningful(s.lost.map((l) => l.error)) ?? new ConnectError("no agent answered", Code.Unavailable));
}

export function notFound(rpc: string, id: string): ConnectError {
  return gatewayError(Code.NotFound, `${rpc}: id ${JSON.stringify(id)} not found`, { rpc, requestId: id, reason: "NOT_FOUND" });
}

/** writeHolders that answers NotFound instead of undefined, returning the replicas' Location */
export async function writeHoldersLocation(gw: Gateway, rpc: string, id: string, scope: CallScope, call: AgentCall<Object_Location>): Promise<{ location: Object_Location; holders: AgentHandle[] }> {
  const s = await writeHolders(gw, rpc, id, scope, call);
  if (s === undefined) throw notFound(rpc, id);
  return { location: replicaLocation(id, s.ok), holders: s.ok.map((o) => o.agent) };
}

export function names(xs: readonly { agent: AgentHandle }[]): string[] {
  return xs.map((x) => x.agent.name);
}

/**
 * Wraps a broadcast's call to note which agents answered it (applied, or did not hold
 * the id) and whether all that were asked did: what tombstones.ts needs to know.
 */
export function answering<T>(call: AgentCall<T>): { call: AgentCall<T>; answered: Set<string>; everyone(): boolean } {
  const answered = new Set<string>();
  let asked = 0;
  return {
    answered,
    everyone: () => answered.size === asked,
    call: async (a, o) => {
      asked++;
      try {
        const r = await call(a, o);
        answered.add(a.name);
        return r;
      } catch (e) {
        if (ConnectError.from(e).code === Code.NotFound) answered.add(a.name);
        throw e;
      }
    },
  };
}
