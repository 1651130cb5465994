// vald.v1.Search (and the LinearSearch family): ask every agent, merge what arrives
// before the deadline. Merging lives in aggregation.ts.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  Search_RequestSchema,
  Search_ResponseSchema,
  Search_ResponsesSchema,
  Search_StreamResponseSchema,
  type Object_Distance,
  type Search_Config,
  type Search_IDRequest,
  type Search_Request,
  type Search_Response,
} from "../gen/payload/v1/payload_pb";
import type { Status } from "../gen/google/rpc/status_pb";
import type { Search } from "../gen/vald/v1/search_pb";
import { attachFloats, floatsOf } from "../rpc/wire-floats";
import { mergeResults } from "./aggregation";
import { multi, scopeOf, streamEach } from "./batch";
import type { Gateway } from "./context";
import { gatewayError, mostMeaningful, noAgents, relay } from "./errors";
import type { AgentHandle } from "./agents";
import { fanOut, gatherUntil, type AgentCall, type CallScope, type Outcome } from "./fanout";
import { getVector } from "./object";
import { checkFloats, checkId, checkSearchConfig } from "./validate";

export type SearchKind = "search" | "linear";

/** Share of the client's remaining time kept back to send the merged answer. */
function answerMargin(remainingMs: number): number {
  return Math.min(200, remainingMs * 0.2);
}

/** How long agents get: Search.Config.timeout (or the default), within the client's deadline. */
export function searchDeadline(gw: Gateway, cfg: Search_Config, scope: CallScope): number {
  const asked = cfg.timeout > 0n ? Number(cfg.timeout) / 1e6 : gw.searchTimeoutMs;
  const client = scope.timeoutMs;
  return client === undefined ? asked : Math.max(1, Math.min(asked, client - answerMargin(client)));
}

/**
 * Partial answers are answers: agents that failed or missed the deadline are left out
 * as long as at least max(min_num, 1) results arrived. Agents' errors surface only
 * when no agent answered; too few results is NotFound (Vald), or DeadlineExceeded
 * when agents that missed the deadline might have supplied the rest.
 */
/** `vector`: a Float32Array taken off the wire goes on to agents without a number[] (wire-floats.ts). */
export async function searchVector(gw: Gateway, kind: SearchKind, rpc: string, vector: number[] | Float32Array, cfg: Search_Config, scope: CallScope): Promise<Search_Response> {
  const agents = gw.agents.list();
  if (agents.length === 0) throw noAgents(rpc, cfg.requestId);
  const deadline = searchDeadline(gw, cfg, scope);
  const ratio = cfg.ratio;
  // Vald's ratio: with several agents each contributes only its share of num.
  const perAgent = ratio !== undefined && ratio > 0 && ratio < 1 && agents.length > 1 ? Math.max(1, Math.ceil(cfg.num * ratio), cfg.minNum) : cfg.num;
  const agentReq = create(Search_RequestSchema, {
    vector: vector instanceof Float32Array ? [] : vector,
    config: {
      requestId: cfg.requestId,
      num: perAgent,
      radius: cfg.radius,
      epsilon: cfg.epsilon,
      timeout: BigInt(Math.floor(deadline * 1e6)),
      minNum: 0,
      aggregationAlgorithm: cfg.aggregationAlgorithm,
      nprobe: cfg.nprobe,
      edgeSize: cfg.edgeSize,
    },
  });
  if (vector instanceof Float32Array) attachFloats(agentReq, "vector", vector);
  const leave = gw.searches.enter();
  let outcomes;
  try {
    outcomes = await askAgents(gw, agents, rpc, { signal: scope.signal, timeoutMs: deadline }, (a, o) =>
      kind === "search" ? a.clients.search.search(agentReq, o) : a.clients.search.linearSearch(agentReq, o),
    );
  } finally {
    leave();
  }
  const lists: Object_Distance[][] = [];
  const errors: ConnectError[] = [];
  let answered = 0;
  for (const o of outcomes) {
    if (o.ok) {
      answered++;
      lists.push(o.value.results);
    } else if (o.error.code === Code.NotFound) {
      answered++; // an agent with nothing near enough
    } else {
      errors.push(o.error);
    }
  }
  if (errors.length > 0) gw.log.debug("search answered partially", { rpc, answered, failed: errors.length, first: errors[0]!.rawMessage });
  if (answered === 0) throw relay(mostMeaningful(errors));
  const results = mergeResults(lists, cfg.num);
  const need = Math.max(1, cfg.minNum);
  if (results.length < need) {
    const late = errors.some((e) => e.code === Code.DeadlineExceeded);
    throw gatewayError(
      late ? Code.DeadlineExceeded : Code.NotFound,
      results.length === 0 ? `${rpc}: no results` : `${rpc}: ${results.length} results, fewer than min_num ${cfg.minNum}`,
      { rpc, requestId: cfg.requestId, reason: late ? "DEADLINE_EXCEEDED" : "NOT_FOUND" },
    );
  }
  return create(Search_ResponseSchema, { requestId: cfg.requestId, results });
}

/**
 * Every agent, unless the repair vouches that any `spare` agents may be missing with
 * each id still held by one that answered (coverage.ts): then, once that many are in,
 * the rest get a short adaptive grace (grace.ts) and the answer goes out without
 * them, so a hung agent does not hold every search to its timeout. Recall is the same:
 * the agents left out hold no id the others lack.
 */
async function askAgents(gw: Gateway, agents: readonly AgentHandle[], rpc: string, scope: CallScope, call: AgentCall<Search_Response>): Promise<Outcome<Search_Response>[]> {
  const timed: AgentCall<Search_Response> = async (a, o) => {
    const t0 = performance.now();
    const r = await call(a, o);
    gw.grace.record(performance.now() - t0);
    return r;
  };
  const spare = Math.min(gw.coverage.spare(), agents.length - 1);
  if (spare <= 0) return fanOut(gw, agents, rpc, scope, timed);
  const need = agents.length - spare;
  return gatherUntil(gw, agents, rpc, scope, timed, {
    enough: (settled) => settled.filter((o) => o.ok || o.error.code === Code.NotFound).length >= need,
    graceMs: gw.grace.ms(),
    reason: "search answered by the replicas of this agent's ids",
  });
}

export async function searchOne(gw: Gateway, kind: SearchKind, rpc: string, req: Search_Request, scope: CallScope): Promise<Search_Response> {
  const cfg = checkSearchConfig(rpc, req.config, gw.limits);
  const hook = gw.hooks.search;
  if (hook !== undefined) {
    checkFloats(rpc, req.vector, cfg.requestId);
    return hook(rpc, req, scope, (r, s) => searchVector(gw, kind, rpc, r.vector, r.config!, s));
  }
  const vector = floatsOf(req, "vector") ?? req.vector;
  checkFloats(rpc, vector, cfg.requestId);
  return searchVector(gw, kind, rpc, vector, cfg, scope);
}

/** The id's own vector from any replica, then a search with it (so the id itself is in the answer). */
export async function searchByIdOne(gw: Gateway, kind: SearchKind, rpc: string, req: Search_IDRequest, scope: CallScope): Promise<Search_Response> {
  const id = checkId(rpc, req.id, gw.limits);
  const cfg = checkSearchConfig(rpc, req.config, gw.limits);
  const vec = await getVector(gw, rpc, id, scope);
  const hook = gw.hooks.search;
  if (hook !== undefined) {
    const req = create(Search_RequestSchema, { vector: vec.vector, config: cfg });
    return hook(rpc, req, scope, (r, s) => searchVector(gw, kind, rpc, r.vector, r.config!, s));
  }
  return searchVector(gw, kind, rpc, vec.vector, cfg, scope);
}

function streamResponse(res: Search_Response) {
  return create(Search_StreamResponseSchema, { payload: { case: "response", value: res } });
}

function streamStatus(status: Status) {
  return create(Search_StreamResponseSchema, { payload: { case: "status", value: status } });
}

export function searchService(gw: Gateway): ServiceImpl<typeof Search> {
  const family = (kind: SearchKind, name: string) => ({
    unary: (req: Search_Request, scope: CallScope) => searchOne(gw, kind, name, req, scope),
    byId: (req: Search_IDRequest, scope: CallScope) => searchByIdOne(gw, kind, `${name}ByID`, req, scope),
  });
  const s = family("search", "Search");
  const l = family("linear", "LinearSearch");
  return {
    search: (req, ctx) => s.unary(req, scopeOf(ctx)),
    searchByID: (req, ctx) => s.byId(req, scopeOf(ctx)),
    streamSearch: (reqs, ctx) => streamEach(gw, reqs, (r) => s.unary(r, scopeOf(ctx)), streamResponse, streamStatus),
    streamSearchByID: (reqs, ctx) => streamEach(gw, reqs, (r) => s.byId(r, scopeOf(ctx)), streamResponse, streamStatus),
    multiSearch: async (req, ctx) =>
      create(Search_ResponsesSchema, { responses: await multi(gw, "MultiSearch", req.requests, (r) => s.unary(r, scopeOf(ctx))) }),
    multiSearchByID: async (req, ctx) =>
      create(Search_ResponsesSchema, { responses: await multi(gw, "MultiSearchByID", req.requests, (r) => s.byId(r, scopeOf(ctx))) }),
    linearSearch: (req, ctx) => l.unary(req, scopeOf(ctx)),
    linearSearchByID: (req, ctx) => l.byId(req, scopeOf(ctx)),
    streamLinearSearch: (reqs, ctx) => streamEach(gw, reqs, (r) => l.unary(r, scopeOf(ctx)), streamResponse, streamStatus),
    streamLinearSearchByID: (reqs, ctx) => streamEach(gw, reqs, (r) => l.byId(r, scopeOf(ctx)), streamResponse, streamStatus),
    multiLinearSearch: async (req, ctx) =>
      create(Search_ResponsesSchema, { responses: await multi(gw, "MultiLinearSearch", req.requests, (r) => l.unary(r, scopeOf(ctx))) }),
    multiLinearSearchByID: async (req, ctx) =>
      create(Search_ResponsesSchema, { responses: await multi(gw, "MultiLinearSearchByID", req.requests, (r) => l.byId(r, scopeOf(ctx))) }),
  };
}
