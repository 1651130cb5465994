// The gateway as Connect routes: every vald.v1 service (and core.v1.Agent for older
// clients) answered by fanning out to the agents of an AgentSet.
import type { ConnectRouter } from "@connectrpc/connect";
import type { Registry } from "../observe/prom";
import { Agent } from "../gen/core/v1/agent_pb";
import { Filter } from "../gen/vald/v1/filter_pb";
import { Flush } from "../gen/vald/v1/flush_pb";
import { Index } from "../gen/vald/v1/index_pb";
import { Insert } from "../gen/vald/v1/insert_pb";
import { Object$ } from "../gen/vald/v1/object_pb";
import { Remove } from "../gen/vald/v1/remove_pb";
import { Search } from "../gen/vald/v1/search_pb";
import { Update } from "../gen/vald/v1/update_pb";
import { Upsert } from "../gen/vald/v1/upsert_pb";
import type { Logger } from "../observe/log";
import { agentCompatService } from "./agent-compat";
import type { AgentSet } from "./agents";
import type { Gateway, GatewayHooks } from "./context";
import { noCoverage, type Coverage } from "./coverage";
import { SearchGrace } from "./grace";
import { IdLocks } from "./id-locks";
import { Suspects } from "./placement";
import { SearchBarrier } from "./search-barrier";
import { noTombstones, type Tombstones } from "./tombstones";
import { filterService } from "./filter";
import { flushService } from "./flush";
import { indexService } from "./index-info";
import { insertService } from "./insert-service";
import { gatewayMetrics, noMetrics, type GatewayMetrics } from "./metrics";
import { objectService } from "./object";
import { removeService } from "./remove";
import { searchService } from "./search";
import { updateService } from "./update";
import { upsertService } from "./upsert";
import { DEFAULT_REQUEST_LIMITS, type RequestLimits } from "../config/limits";

export interface GatewayOptions {
  /** copies per vector (Vald's index replica); capped at the live agent count */
  replicas: number;
  log: Logger;
  /** where gateway metrics go (per-agent calls, fan-out latency); none when absent */
  registry?: Registry;
  metrics?: GatewayMetrics;
  /** Multi* items in flight at once (default 64) */
  multiConcurrency?: number;
  /** requests of one bidi stream in flight at once (default 16) */
  streamConcurrency?: number;
  /** search timeout when Search.Config.timeout is 0 (default 3000 ms, Vald's default) */
  searchTimeoutMs?: number;
  /** id length, search num and batch size limits (default: the flags' defaults) */
  limits?: RequestLimits;
  /** serve core.v1.Agent on the gateway for older clients (default true) */
  legacyAgentApi?: boolean;
  random?: () => number;
  /** give up on a replica that has not answered a write within this (ms); 0 = off (default) */
  replicaTimeoutMs?: number;
  /** acknowledge an insert once this many replicas stored it; 0 = all (default) */
  writeConsistency?: number;
  /** shared with the server's repair so moves and client writes of one id take turns */
  locks?: IdLocks;
  /** from the server's repair: lets searches skip agents whose ids others cover */
  coverage?: Coverage;
  /** shared with the server's repair, which waits out searches before dropping moved copies */
  searches?: SearchBarrier;
  /** shared with the server's repair: removes that agents away at the time missed */
  tombstones?: Tombstones;
  /** the config file's hooks (hooks.ts); the server keeps the object and swaps its fields on SIGHUP */
  hooks?: GatewayHooks;
}

export function createGateway(agents: AgentSet, opts: GatewayOptions): Gateway {
  return {
    agents,
    replicas: Math.max(1, opts.replicas),
    log: opts.log.with({ component: "gateway" }),
    metrics: opts.metrics ?? (opts.registry !== undefined ? gatewayMetrics(opts.registry, agents) : noMetrics),
    multiConcurrency: opts.multiConcurrency ?? 64,
    streamConcurrency: opts.streamConcurrency ?? 16,
    searchTimeoutMs: opts.searchTimeoutMs ?? 3000,
    limits: opts.limits ?? DEFAULT_REQUEST_LIMITS,
    random: opts.random ?? Math.random,
    replicaTimeoutMs: opts.replicaTimeoutMs ?? 0,
    writeConsistency: opts.writeConsistency ?? 0,
    locks: opts.locks ?? new IdLocks(),
    coverage: opts.coverage ?? noCoverage,
    grace: new SearchGrace(),
    searches: opts.searches ?? new SearchBarrier(),
    tombstones: opts.tombstones ?? noTombstones,
    suspects: new Suspects(),
    hooks: opts.hooks ?? {},
  };
}

export function gatewayRoutes(agents: AgentSet, opts: GatewayOptions): (router: ConnectRouter) => void {
  return routesOf(createGateway(agents, opts), opts.legacyAgentApi !== false);
}

/** the routes of a gateway made with createGateway (the server also hands it to the TTL sweep) */
export function routesOf(gw: Gateway, legacyAgentApi = true): (router: ConnectRouter) => void {
  return (router) => {
    router.service(Insert, insertService(gw));
    router.service(Update, updateService(gw));
    router.service(Upsert, upsertService(gw));
    router.service(Remove, removeService(gw));
    router.service(Search, searchService(gw));
    router.service(Object$, objectService(gw));
    router.service(Index, indexService(gw));
    router.service(Flush, flushService(gw));
    router.service(Filter, filterService(gw));
    if (legacyAgentApi) router.service(Agent, agentCompatService(gw));
  };
}
