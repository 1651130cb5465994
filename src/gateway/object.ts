// vald.v1.Object: reads from any replica; listing merges every agent's stream.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  Object_List_ResponseSchema,
  Object_StreamVectorSchema,
  type Object_ID,
  type Object_List_Response,
  type Object_Timestamp,
  type Object_Vector,
  type Object_VectorRequest,
} from "../gen/payload/v1/payload_pb";
import type { Object$ } from "../gen/vald/v1/object_pb";
import type { AgentHandle } from "./agents";
import { scopeOf, streamEach } from "./batch";
import type { Gateway } from "./context";
import { mostMeaningful, noAgents, relay, toStatus } from "./errors";
import { firstSuccess, type AgentCall, type CallScope } from "./fanout";
import { notFound } from "./holders";
import { checkId } from "./validate";

/**
 * First replica that has the id answers. With no success: NotFound when the agents
 * that answered all lack it (a vanished agent does not change that), else the most
 * meaningful agent error.
 */
export async function readAny<T>(gw: Gateway, rpc: string, id: string, scope: CallScope, call: AgentCall<T>): Promise<T> {
  const agents = gw.agents.list();
  if (agents.length === 0) throw noAgents(rpc, id);
  const r = await firstSuccess(gw, agents, rpc, scope, call);
  if ("value" in r) return r.value;
  const errors = r.failures.map((f) => f.error);
  const real = errors.filter((e) => e.code !== Code.NotFound && e.code !== Code.Unavailable);
  if (real.length > 0) throw relay(mostMeaningful(real));
  if (errors.some((e) => e.code === Code.NotFound)) throw notFound(rpc, id);
  throw relay(mostMeaningful(errors));
}

export function getVector(gw: Gateway, rpc: string, id: string, scope: CallScope): Promise<Object_Vector> {
  return readAny(gw, rpc, id, scope, (a, o) => a.clients.object.getObject({ id: { id } }, o));
}

async function getObject(gw: Gateway, rpc: string, req: Object_VectorRequest, scope: CallScope): Promise<Object_Vector> {
  const id = checkId(rpc, req.id?.id, gw.limits);
  return readAny(gw, rpc, id, scope, (a, o) => a.clients.object.getObject(req, o));
}

export async function exists(gw: Gateway, req: Object_ID, scope: CallScope): Promise<Object_ID> {
  const id = checkId("Exists", req.id, gw.limits);
  return readAny(gw, "Exists", id, scope, (a, o) => a.clients.object.exists(req, o));
}

export async function getTimestamp(gw: Gateway, id: string | undefined, scope: CallScope): Promise<Object_Timestamp> {
  const checked = checkId("GetTimestamp", id, gw.limits);
  return readAny(gw, "GetTimestamp", checked, scope, (a, o) => a.clients.object.getTimestamp({ id: { id: checked } }, o));
}

/**
 * Every agent's list, one agent after another, each id once (replicas hold copies).
 * Remembering the ids sent costs memory proportional to the listing, the price of
 * deduplicating without coordination. An agent that fails mid-way contributes a
 * status item (a vanished one just ends) and the listing goes on with the next.
 */
export async function* listObjects(gw: Gateway, agents: readonly AgentHandle[], signal: AbortSignal): AsyncGenerator<Object_List_Response> {
  const seen = new Set<string>();
  const dedupe = agents.length > 1;
  for (const agent of agents) {
    const t0 = performance.now();
    let code: Code | undefined;
    try {
      for await (const item of agent.clients.object.streamListObject({}, { signal })) {
        if (item.payload.case === "vector") {
          const id = item.payload.value.id;
          if (dedupe) {
            if (seen.has(id)) continue;
            seen.add(id);
          }
        }
        yield item;
      }
    } catch (e) {
      const err = ConnectError.from(e);
      code = err.code;
      if (signal.aborted) throw err;
      if (err.code !== Code.Unavailable) {
        yield create(Object_List_ResponseSchema, { payload: { case: "status", value: toStatus(relay(err, agent.name)) } });
      } else {
        gw.log.warn("agent lost while listing objects", { agent: agent.name });
      }
    } finally {
      gw.metrics.agentCall(agent.name, "StreamListObject", code, (performance.now() - t0) / 1000);
    }
  }
}

export function objectService(gw: Gateway): ServiceImpl<typeof Object$> {
  return {
    exists: (req, ctx) => exists(gw, req, scopeOf(ctx)),
    getObject: (req, ctx) => getObject(gw, "GetObject", req, scopeOf(ctx)),
    streamGetObject: (reqs, ctx) =>
      streamEach(
        gw,
        reqs,
        (r) => getObject(gw, "StreamGetObject", r, scopeOf(ctx)),
        (vector) => create(Object_StreamVectorSchema, { payload: { case: "vector", value: vector } }),
        (status) => create(Object_StreamVectorSchema, { payload: { case: "status", value: status } }),
      ),
    streamListObject: async function* (_req, ctx) {
      const agents = gw.agents.list();
      if (agents.length === 0) throw noAgents("StreamListObject");
      yield* listObjects(gw, agents, ctx.signal);
    },
    getTimestamp: (req, ctx) => getTimestamp(gw, req.id?.id, scopeOf(ctx)),
  };
}
