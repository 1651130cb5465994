// core.v1.Agent on the gateway port. Older Vald clients (vald-client-node 1.7.4)
// ask core.v1.Agent for IndexInfo and GetTimestamp; operators also like to force
// CreateIndex/SaveIndex on the whole cluster from one place.
import type { ServiceImpl } from "@connectrpc/connect";
import type { Agent } from "../gen/core/v1/agent_pb";
import { scopeOf } from "./batch";
import type { Gateway } from "./context";
import { indexCounts, sumCounts } from "./index-info";
import { getTimestamp } from "./object";
import { writeHolders } from "./holders";

export function agentCompatService(gw: Gateway): ServiceImpl<typeof Agent> {
  return {
    createIndex: async (req, ctx) => {
      await writeHolders(gw, "CreateIndex", "", scopeOf(ctx), (a, o) => a.clients.agent.createIndex(req, o));
      return {};
    },
    saveIndex: async (req, ctx) => {
      await writeHolders(gw, "SaveIndex", "", scopeOf(ctx), (a, o) => a.clients.agent.saveIndex(req, o));
      return {};
    },
    createAndSaveIndex: async (req, ctx) => {
      await writeHolders(gw, "CreateAndSaveIndex", "", scopeOf(ctx), (a, o) => a.clients.agent.createAndSaveIndex(req, o));
      return {};
    },
    indexInfo: async (_req, ctx) => sumCounts((await indexCounts(gw, "IndexInfo", scopeOf(ctx))).map((c) => c.value)),
    getTimestamp: (req, ctx) => getTimestamp(gw, req.id?.id, scopeOf(ctx)),
  };
}
