// vald.v1.Insert: place each vector on `replicas` least-loaded agents.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  Insert_RequestSchema,
  Object_LocationsSchema,
  Object_StreamLocationSchema,
  type Insert_Request,
  type Object_Location,
} from "../gen/payload/v1/payload_pb";
import type { Insert } from "../gen/vald/v1/insert_pb";
import type { AgentHandle } from "./agents";
import { scopeOf, streamEach } from "./batch";
import { multiInsert } from "./multi-insert";
import type { Gateway } from "./context";
import { gatewayError, mostMeaningful, noAgents, relay } from "./errors";
import { fanOut, split, type CallScope, type Outcome } from "./fanout";
import { names } from "./holders";
import { replicaLocation } from "./location";
import { chooseReplicas } from "./placement";
import { stamp } from "./timestamp";
import { checkVector } from "./validate";

/**
 * Insert on the chosen replicas; acknowledged when all of them stored it. Strict mode
 * asks the *other* agents whether the id exists (the chosen ones check it themselves
 * as part of their insert), so a one-agent setup pays a single call. When a replica
 * refuses, the copies already written are removed again (best effort) so a failed
 * insert leaves nothing behind. A replica that vanished mid-call (Unavailable) is a
 * lost replica, replaced by another agent when one is left; with none left the insert
 * succeeds with the copies that were stored.
 */
export async function insertOne(gw: Gateway, rpc: string, req: Insert_Request, scope: CallScope): Promise<Object_Location> {
  const vec = checkVector(rpc, req.vector, gw.limits);
  const id = vec.id;
  const agents = gw.agents.list();
  if (agents.length === 0) throw noAgents(rpc, id);
  const chosen = chooseReplicas(agents, gw.replicas, gw.random);
  const strict = req.config?.skipStrictExistCheck !== true;
  if (strict) {
    const others = agents.filter((a) => !chosen.includes(a));
    if (others.length > 0) {
      const s = split(await fanOut(gw, others, "Exists", scope, (a, o) => a.clients.object.exists({ id }, o)));
      if (s.ok.length > 0) {
        throw gatewayError(Code.AlreadyExists, `${rpc}: id ${JSON.stringify(id)} already exists on ${names(s.ok).join(",")}`, {
          rpc,
          requestId: id,
          reason: "ALREADY_EXISTS",
        });
      }
      if (s.failed.length > 0) throw relay(mostMeaningful(s.failed.map((f) => f.error)));
    }
  }
  const agentReq = create(Insert_RequestSchema, {
    vector: vec,
    config: { skipStrictExistCheck: !strict, filters: req.config?.filters, timestamp: stamp(req.config?.timestamp) },
  });
  const ok: { agent: AgentHandle; value: Object_Location }[] = [];
  const lost: Extract<Outcome<Object_Location>, { ok: false }>[] = [];
  const failed: Extract<Outcome<Object_Location>, { ok: false }>[] = [];
  const tried = new Set(chosen);
  let round = chosen;
  for (;;) {
    for (const a of round) a.adjustStored(1);
    for (const o of await fanOut(gw, round, rpc, scope, (a, opts) => a.clients.insert.insert(agentReq, opts))) {
      if (o.ok) ok.push({ agent: o.agent, value: o.value });
      else {
        o.agent.adjustStored(-1);
        (o.error.code === Code.Unavailable ? lost : failed).push(o);
      }
    }
    const missing = chosen.length - ok.length;
    if (failed.length > 0 || missing === 0) break;
    // Replicas that vanished mid-call are replaced by the next least-loaded live agents
    // (already asked whether they hold the id, and checking it again themselves).
    const spare = gw.agents.list().filter((a) => !tried.has(a));
    if (spare.length === 0) break;
    round = chooseReplicas(spare, missing, gw.random);
    for (const a of round) tried.add(a);
  }
  if (failed.length > 0 || ok.length === 0) {
    await rollback(gw, rpc, id, ok.map((o) => o.agent));
    throw relay(mostMeaningful([...failed, ...lost].map((f) => f.error)) ?? new ConnectError("no replica answered", Code.Unavailable));
  }
  if (lost.length > 0) {
    const level = ok.length < chosen.length ? "warn" : "info";
    gw.log[level](ok.length < chosen.length ? "insert stored on fewer replicas than asked" : "lost replicas replaced during insert", { id, stored: names(ok), lost: names(lost) });
  }
  return replicaLocation(id, ok);
}

async function rollback(gw: Gateway, rpc: string, id: string, agents: readonly AgentHandle[]): Promise<void> {
  if (agents.length === 0) return;
  const s = split(await fanOut(gw, agents, "Remove", { timeoutMs: 5000 }, (a, o) => a.clients.remove.remove({ id: { id } }, o)));
  for (const o of s.ok) o.agent.adjustStored(-1);
  if (s.failed.length > 0 || s.lost.length > 0) {
    gw.log.warn("could not roll back a partial insert", { rpc, id, agents: names([...s.failed, ...s.lost]) });
  }
}

export function insertService(gw: Gateway): ServiceImpl<typeof Insert> {
  return {
    insert: (req, ctx) => insertOne(gw, "Insert", req, scopeOf(ctx)),
    multiInsert: async (req, ctx) => create(Object_LocationsSchema, { locations: await multiInsert(gw, "MultiInsert", req.requests, scopeOf(ctx)) }),
    streamInsert: (reqs, ctx) =>
      streamEach(
        gw,
        reqs,
        (r) => insertOne(gw, "StreamInsert", r, scopeOf(ctx)),
        (location) => create(Object_StreamLocationSchema, { payload: { case: "location", value: location } }),
        (status) => create(Object_StreamLocationSchema, { payload: { case: "status", value: status } }),
        (r) => r.vector?.id,
      ),
  };
}
