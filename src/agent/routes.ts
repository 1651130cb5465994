// The agent's RPC surface: every vald.v1 service plus core.v1.Agent (and our own
// alvd.cluster.v1.Replica for the servers' repair and Snapshot for backups), registered on a
// Connect router. The same routes serve the agent's own port, the tunnel to a server
// (router.handlers) and in-process calls from an embedded agent.
import { Code, ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { Snapshot } from "../gen/alvd/cluster/v1/backup_pb";
import { Replica } from "../gen/alvd/cluster/v1/replica_pb";
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
import { DEFAULT_REQUEST_LIMITS, type RequestLimits } from "../config/limits";
import type { Logger } from "../observe/log";
import type { Engine } from "./engine/types";
import { enrich } from "./handlers/errors";
import { filterService } from "./handlers/filter";
import { flushService } from "./handlers/flush";
import { agentService, indexService } from "./handlers/index-control";
import { insertService } from "./handlers/insert";
import { objectService } from "./handlers/object";
import { removeService } from "./handlers/remove";
import { replicaService } from "./handlers/replica";
import { searchService } from "./handlers/search";
import { snapshotService } from "./handlers/snapshot";
import { updateService } from "./handlers/update";
import { upsertService } from "./handlers/upsert";

/** Lets the owner refuse new calls (Unavailable) while it shuts down. */
export interface AgentGate {
  available(): boolean;
}

const ALWAYS: AgentGate = { available: () => true };

function gateInterceptor(gate: AgentGate, agent: string): Interceptor {
  return (next) => async (req) => {
    if (!gate.available()) {
      throw enrich(new ConnectError("agent is shutting down", Code.Unavailable), {
        agent,
        rpc: `${req.service.typeName}/${req.method.name}`,
      });
    }
    return next(req);
  };
}

/**
 * `interceptors` run around every call (e.g. RPC metrics). They must be given here:
 * per-service options replace the listener's or router's own interceptors.
 */
export function agentRoutes(
  engine: Engine,
  log: Logger,
  gate: AgentGate = ALWAYS,
  interceptors: Interceptor[] = [],
  limits: RequestLimits = DEFAULT_REQUEST_LIMITS,
): (router: ConnectRouter) => void {
  const env = { engine, log, limits };
  const options = { interceptors: [...interceptors, gateInterceptor(gate, engine.options.name)] };
  // One instance for every router these routes serve (own port, tunnels, in-process):
  // it holds the agent's lease and draining flag, which all roads must see alike.
  const replica = replicaService(env);
  const snapshot = snapshotService(env);
  return (router) => {
    router.service(Insert, insertService(env), options);
    router.service(Update, updateService(env), options);
    router.service(Upsert, upsertService(env), options);
    router.service(Remove, removeService(env), options);
    router.service(Search, searchService(env), options);
    router.service(Object$, objectService(env), options);
    router.service(Index, indexService(env), options);
    router.service(Flush, flushService(env), options);
    router.service(Filter, filterService(), options);
    router.service(Agent, agentService(env), options);
    router.service(Replica, replica, options);
    router.service(Snapshot, snapshot, options);
  };
}
