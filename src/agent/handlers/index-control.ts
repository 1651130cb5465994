// vald.v1.Index (IndexInfo, IndexDetail, IndexStatistics(Detail), IndexProperty) and
// core.v1.Agent (CreateIndex, SaveIndex, CreateAndSaveIndex, plus the legacy IndexInfo
// and GetTimestamp that vald-client-node 1.7 still calls there).
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { availableParallelism } from "node:os";
import type { Agent } from "../../gen/core/v1/agent_pb";
import {
  EmptySchema,
  Info_Index_CountSchema,
  Info_Index_DetailSchema,
  Info_Index_PropertyDetailSchema,
  Info_Index_PropertySchema,
  Info_Index_StatisticsDetailSchema,
  Info_Index_StatisticsSchema,
  type Info_Index_Count,
  type Info_Index_Property,
  type Info_Index_Statistics,
} from "../../gen/payload/v1/payload_pb";
import type { Index } from "../../gen/vald/v1/index_pb";
import { unary, type HandlerEnv } from "./env";
import { getTimestamp } from "./object";

/**
 * Counted as Vald's agent counts: `stored` is what the index already holds (committed
 * by CreateIndex), `uncommitted` what still waits for it, so stored + uncommitted is
 * every vector (ours are searchable either way). 3 inserts without CreateIndex: 0 + 3.
 */
export function countMessage(env: HandlerEnv): Info_Index_Count {
  const c = env.engine.counts();
  return create(Info_Index_CountSchema, { stored: Math.max(0, c.stored - c.uncommitted), uncommitted: c.uncommitted, indexing: c.indexing, saving: c.saving });
}

// NGT reports graph-shape statistics (in/out degrees, edge lengths) that usearch does
// not expose; we fill only what we know and leave the rest 0 rather than invent it.
function statistics(env: HandlerEnv): Info_Index_Statistics {
  const c = env.engine.counts();
  const indexed = Math.max(0, c.stored - c.uncommitted);
  return create(Info_Index_StatisticsSchema, {
    valid: true,
    numberOfObjects: BigInt(c.stored),
    numberOfIndexedObjects: BigInt(indexed),
    numberOfNodes: BigInt(indexed),
    numberOfRemovedObjects: 0n,
    sizeOfObjectRepository: BigInt(Math.max(0, Math.round(env.engine.memoryUsage()))),
  });
}

const DISTANCE_NAMES = { l2sq: "l2", cos: "cosine", ip: "innerproduct" } as const;
const OBJECT_TYPES = { f32: "float", f16: "float16", i8: "int8" } as const;

function property(env: HandlerEnv): Info_Index_Property {
  const o = env.engine.options;
  return create(Info_Index_PropertySchema, {
    dimension: o.dimension,
    threadPoolSize: o.indexThreads > 0 ? o.indexThreads : availableParallelism(),
    objectType: OBJECT_TYPES[o.quantization],
    distanceType: DISTANCE_NAMES[o.metric],
    indexType: "hnsw",
    databaseType: o.indexPath ? "file" : "memory",
    graphType: "hnsw",
    searchType: `usearch/${env.engine.isa}`,
    edgeSizeForCreation: o.connectivity,
    edgeSizeForSearch: o.expansionSearch,
    outgoingEdge: o.connectivity,
    incomingEdge: o.connectivity * 2,
    batchSizeForCreation: o.createIndexThreshold,
  });
}

export function indexService(env: HandlerEnv): ServiceImpl<typeof Index> {
  const name = () => env.engine.options.name;
  return {
    indexInfo: (_req, ctx) => unary(env, ctx, () => countMessage(env)),
    // One agent: its own counts, replica 1, one live agent (the gateway aggregates many).
    indexDetail: (_req, ctx) =>
      unary(env, ctx, () => create(Info_Index_DetailSchema, { counts: { [name()]: countMessage(env) }, replica: 1, liveAgents: 1 })),
    indexStatistics: (_req, ctx) => unary(env, ctx, () => statistics(env)),
    indexStatisticsDetail: (_req, ctx) =>
      unary(env, ctx, () => create(Info_Index_StatisticsDetailSchema, { details: { [name()]: statistics(env) } })),
    indexProperty: (_req, ctx) =>
      unary(env, ctx, () => create(Info_Index_PropertyDetailSchema, { details: { [name()]: property(env) } })),
  };
}

export function agentService(env: HandlerEnv): ServiceImpl<typeof Agent> {
  const { engine } = env;
  return {
    createIndex: (req, ctx) =>
      unary(env, ctx, async () => {
        await engine.createIndex(req.poolSize);
        return create(EmptySchema);
      }),
    saveIndex: (_req, ctx) =>
      unary(env, ctx, async () => {
        await engine.saveIndex();
        return create(EmptySchema);
      }),
    createAndSaveIndex: (req, ctx) =>
      unary(env, ctx, async () => {
        await engine.createIndex(req.poolSize);
        await engine.saveIndex();
        return create(EmptySchema);
      }),
    indexInfo: (_req, ctx) => unary(env, ctx, () => countMessage(env)),
    getTimestamp: getTimestamp(env),
  };
}
