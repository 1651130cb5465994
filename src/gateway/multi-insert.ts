// MultiInsert in batches: one MultiInsert per agent (in chunks) instead of one Insert
// per item and replica. Bulk loads through the tunnel are bounded by calls per second,
// so this is where ingest speed comes from.
//
// Semantics, same rules as Insert per item, with one difference that makes retries
// safe: the call is all-or-nothing where the outcome is known in advance. Every item
// is validated, and (unless skip_strict_exist_check) every id checked on the agents
// not chosen for it, before anything is written; the chosen agents check their share
// themselves and refuse a whole chunk before applying it. If any agent refuses, the
// chunks already written are removed again (best effort) and the call fails.
// Items whose every replica vanished mid-call (Unavailable) are retried one by one on
// the agents still live, like Insert does.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Insert_RequestSchema, type Insert_Request, type Object_Location } from "../gen/payload/v1/payload_pb";
import type { AgentHandle } from "./agents";
import { multi } from "./batch";
import { mapLimit } from "./concurrency";
import type { Gateway } from "./context";
import { gatewayError, mostMeaningful, noAgents, relay } from "./errors";
import { callAgent, type CallScope } from "./fanout";
import { insertChecked, insertHeld } from "./insert";
import { replicaLocation } from "./location";
import { chooseReplicas, placeable } from "./placement";
import { stamp } from "./timestamp";
import { checkBatch, checkVector } from "./validate";

/** items per agent call: big enough to amortise a call, small enough to stream through the tunnel */
const CHUNK = 512;

function atItem(e: unknown, i: number): ConnectError {
  const err = ConnectError.from(e);
  const out = new ConnectError(`requests[${i}]: ${err.rawMessage}`, err.code);
  out.details = err.details;
  return out;
}

export async function multiInsert(gw: Gateway, rpc: string, given: readonly Insert_Request[], scope: CallScope): Promise<Object_Location[]> {
  if (given.length === 0) return [];
  checkBatch(rpc, given.length, gw.limits);
  const hook = gw.hooks.insert;
  const reqs = hook === undefined ? given : await interceptEach(gw, rpc, given, hook);
  const ids = reqs.map((r, i) => {
    try {
      return checkVector(rpc, r.vector, gw.limits).id;
    } catch (e) {
      throw atItem(e, i);
    }
  });
  // The same id twice: order matters between the two writes, so take the one-by-one path.
  if (new Set(ids).size !== ids.length) return multi(gw, rpc, reqs, (r) => insertChecked(gw, rpc, r, scope), (r) => r.vector?.id);
  if (gw.agents.list().length === 0) throw noAgents(rpc);
  const release = await gw.locks.acquire(ids);
  try {
    return await multiInsertHeld(gw, rpc, reqs, ids, scope);
  } finally {
    release();
  }
}

async function multiInsertHeld(gw: Gateway, rpc: string, reqs: readonly Insert_Request[], ids: readonly string[], scope: CallScope): Promise<Object_Location[]> {
  const agents = gw.agents.list();
  if (agents.length === 0) throw noAgents(rpc);
  const target = Math.min(Math.max(1, gw.replicas), placeable(agents).length);

  const placed: AgentHandle[][] = reqs.map(() => {
    const chosen = chooseReplicas(agents, gw.replicas, gw.random, gw.suspects);
    for (const a of chosen) a.adjustStored(1); // so the next item sees this one's load
    return chosen;
  });
  const stored: { agent: AgentHandle; value?: Object_Location }[][] = reqs.map(() => []);
  const release = () => {
    placed.forEach((chosen, i) => {
      for (const a of chosen) if (!stored[i]!.some((s) => s.agent === a)) a.adjustStored(-1);
    });
  };

  try {
    await checkElsewhere(gw, rpc, reqs, ids, placed, agents, scope);
  } catch (e) {
    release();
    throw e;
  }

  const agentReqs = reqs.map((r) =>
    create(Insert_RequestSchema, {
      vector: r.vector,
      config: { skipStrictExistCheck: r.config?.skipStrictExistCheck === true, filters: r.config?.filters, timestamp: stamp(r.config?.timestamp) },
    }),
  );
  const jobs: { agent: AgentHandle; items: number[] }[] = [];
  for (const agent of agents) {
    const mine = placed.flatMap((chosen, i) => (chosen.includes(agent) ? [i] : []));
    for (let k = 0; k < mine.length; k += CHUNK) jobs.push({ agent, items: mine.slice(k, k + CHUNK) });
  }
  const errors: ConnectError[] = [];
  await mapLimit(jobs, Math.max(agents.length, 4), async ({ agent, items }) => {
    const o = await callAgent(gw, agent, "MultiInsert", scope, (a, opts) => a.clients.insert.multiInsert({ requests: items.map((i) => agentReqs[i]!) }, opts));
    if (o.ok) items.forEach((i, k) => stored[i]!.push({ agent, value: o.value.locations[k] }));
    else if (o.error.code !== Code.Unavailable) errors.push(o.error);
  });
  release();

  if (errors.length > 0) {
    await rollback(gw, ids, stored);
    throw relay(mostMeaningful(errors));
  }
  // Items left with no replica at all (their agents vanished) get a second chance;
  // those with fewer copies than asked are acknowledged and completed by the repair.
  const orphans = stored.flatMap((s, i) => (s.length === 0 ? [i] : []));
  const short = stored.filter((s) => s.length > 0 && s.length < target).length;
  if (short > 0) {
    gw.coverage.shortWrite()(false);
    gw.log.warn("MultiInsert: items stored on fewer replicas than asked; the repair completes them", { items: short });
  }
  const retried = new Map<number, Object_Location>();
  if (orphans.length > 0) {
    gw.log.warn("MultiInsert: agents lost mid-call, retrying their items one by one", { items: orphans.length });
    const locs = await multi(gw, rpc, orphans, async (i) => {
      const placed = await insertHeld(gw, rpc, reqs[i]!, reqs[i]!.vector!, scope);
      await placed.settled;
      return placed.location;
    });
    orphans.forEach((i, k) => retried.set(i, locs[k]!));
  }
  return ids.map((id, i) => retried.get(i) ?? replicaLocation(id, stored[i]!));
}

/** The insert hook over every item, each validated first; one refused item fails the call. */
async function interceptEach(gw: Gateway, rpc: string, reqs: readonly Insert_Request[], hook: NonNullable<Gateway["hooks"]["insert"]>): Promise<Insert_Request[]> {
  reqs.forEach((r, i) => {
    try {
      checkVector(rpc, r.vector, gw.limits);
    } catch (e) {
      throw atItem(e, i);
    }
  });
  return mapLimit(reqs, gw.multiConcurrency, (r, i) => hook(rpc, r).catch((e: unknown) => Promise.reject(atItem(e, i))));
}

/** Strict items: AlreadyExists if an agent not chosen for the id holds it. */
async function checkElsewhere(
  gw: Gateway,
  rpc: string,
  reqs: readonly Insert_Request[],
  ids: readonly string[],
  placed: readonly AgentHandle[][],
  agents: readonly AgentHandle[],
  scope: CallScope,
): Promise<void> {
  const checks: { agent: AgentHandle; i: number }[] = [];
  reqs.forEach((r, i) => {
    if (r.config?.skipStrictExistCheck === true) return;
    for (const agent of agents) if (!placed[i]!.includes(agent)) checks.push({ agent, i });
  });
  if (checks.length === 0) return;
  let found: { agent: AgentHandle; i: number } | undefined;
  const errors: ConnectError[] = [];
  await mapLimit(checks, gw.multiConcurrency, async ({ agent, i }) => {
    if (found !== undefined) return;
    const o = await callAgent(gw, agent, "Exists", scope, (a, opts) => a.clients.object.exists({ id: ids[i]! }, opts));
    if (o.ok) found ??= { agent, i };
    else if (o.error.code !== Code.NotFound && o.error.code !== Code.Unavailable) errors.push(o.error);
  });
  if (found !== undefined) {
    throw gatewayError(Code.AlreadyExists, `${rpc}: requests[${found.i}]: id ${JSON.stringify(ids[found.i])} already exists on ${found.agent.name}`, {
      rpc,
      requestId: ids[found.i],
      reason: "ALREADY_EXISTS",
    });
  }
  if (errors.length > 0) throw relay(mostMeaningful(errors));
}

async function rollback(gw: Gateway, ids: readonly string[], stored: readonly { agent: AgentHandle }[][]): Promise<void> {
  const undo = stored.flatMap((s, i) => s.map(({ agent }) => ({ agent, id: ids[i]! })));
  if (undo.length === 0) return;
  let failures = 0;
  await mapLimit(undo, gw.multiConcurrency, async ({ agent, id }) => {
    const o = await callAgent(gw, agent, "Remove", { timeoutMs: 5000 }, (a, opts) => a.clients.remove.remove({ id: { id } }, opts));
    if (o.ok) agent.adjustStored(-1);
    else failures++;
  });
  if (failures > 0) gw.log.warn("MultiInsert: could not roll back every written item", { failures, of: undo.length });
}
