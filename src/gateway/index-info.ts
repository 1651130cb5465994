// vald.v1.Index: the cluster's index state assembled from every agent.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  Info_Index_CountSchema,
  Info_Index_DetailSchema,
  Info_Index_PropertyDetailSchema,
  Info_Index_StatisticsDetailSchema,
  Info_Index_StatisticsSchema,
  type Info_Index_Count,
  type Info_Index_Statistics,
} from "../gen/payload/v1/payload_pb";
import type { Index } from "../gen/vald/v1/index_pb";
import type { AgentHandle } from "./agents";
import { scopeOf } from "./batch";
import type { Gateway } from "./context";
import { mostMeaningful, noAgents, relay } from "./errors";
import { fanOut, type AgentCall, type CallScope } from "./fanout";

/** Agent failures that only mean "no numbers from this agent right now" (as in Vald). */
const SKIPPABLE = new Set<Code>([Code.Unavailable, Code.DeadlineExceeded, Code.Canceled, Code.NotFound, Code.Unimplemented]);

/**
 * Every agent's answer. Agents that vanished, timed out or cannot answer are left out
 * as Vald does (these are monitoring calls); any other agent failure fails the call,
 * and so does having no answer at all.
 */
async function allAgents<T>(gw: Gateway, rpc: string, scope: CallScope, call: AgentCall<T>): Promise<{ agent: AgentHandle; value: T }[]> {
  const agents = gw.agents.list();
  if (agents.length === 0) throw noAgents(rpc);
  const outcomes = await fanOut(gw, agents, rpc, scope, call);
  const ok = outcomes.flatMap((o) => (o.ok ? [{ agent: o.agent, value: o.value }] : []));
  const errors = outcomes.flatMap((o) => (o.ok ? [] : [o.error]));
  const hard = errors.filter((e) => !SKIPPABLE.has(e.code));
  if (hard.length > 0) throw relay(mostMeaningful(hard));
  if (ok.length === 0) throw relay(mostMeaningful(errors) ?? new ConnectError("no agent answered", Code.Unavailable));
  return ok;
}

export async function indexCounts(gw: Gateway, rpc: string, scope: CallScope): Promise<{ agent: AgentHandle; value: Info_Index_Count }[]> {
  const counts = await allAgents(gw, rpc, scope, (a, o) => a.clients.index.indexInfo({}, o));
  // Fresh counts are what placement balances on.
  for (const c of counts) c.agent.setStored(c.value.stored + c.value.uncommitted);
  return counts;
}

/**
 * Sums over agents, as Vald does: `stored` (committed by CreateIndex) and `uncommitted`
 * (still queued) count every replica, so with replicas=2 each vector counts twice
 * (IndexDetail shows the per-agent numbers); stored + uncommitted is every copy.
 * indexing/saving are true when any agent is busy.
 */
export function sumCounts(counts: readonly Info_Index_Count[]): Info_Index_Count {
  const out = create(Info_Index_CountSchema);
  for (const c of counts) {
    out.stored += c.stored;
    out.uncommitted += c.uncommitted;
    out.indexing ||= c.indexing;
    out.saving ||= c.saving;
  }
  return out;
}

type NumKey = Exclude<{ [K in keyof Info_Index_Statistics]-?: Info_Index_Statistics[K] extends number | bigint ? K : never }[keyof Info_Index_Statistics], undefined>;
type ListKey = "indegreeCount" | "outdegreeHistogram" | "indegreeHistogram";

/**
 * One Statistics for the whole cluster: counts and sizes add up, extremes take the
 * extreme, means and variances are weighted by each agent's node count, medians and
 * modes come from the largest agent (they cannot be combined exactly), histograms add
 * bucket by bucket.
 */
export function mergeStatistics(stats: readonly Info_Index_Statistics[]): Info_Index_Statistics {
  const out = create(Info_Index_StatisticsSchema);
  if (stats.length === 0) return out;
  const weight = (s: Info_Index_Statistics) => Number(s.numberOfNodes) || Number(s.numberOfObjects) || 0;
  const total = stats.reduce((n, s) => n + weight(s), 0);
  const largest = stats.reduce((a, b) => (weight(b) > weight(a) ? b : a));
  out.valid = stats.every((s) => s.valid);
  for (const field of Info_Index_StatisticsSchema.fields) {
    const key = field.localName as NumKey | ListKey | "valid";
    if (key === "valid") continue;
    if (field.fieldKind === "list") {
      const k = key as ListKey;
      const acc: bigint[] = [];
      for (const s of stats) s[k].forEach((v, i) => (acc[i] = (acc[i] ?? 0n) + v));
      out[k] = acc;
      continue;
    }
    const k = key as NumKey;
    const vals = stats.map((s) => s[k]);
    const isBig = typeof vals[0] === "bigint";
    let v: number | bigint;
    if (k.startsWith("max")) v = vals.reduce((a, b) => (b > a ? b : a));
    else if (k.startsWith("min")) v = vals.reduce((a, b) => (b < a ? b : a));
    else if (k.startsWith("median") || k.startsWith("mode")) v = largest[k];
    else if (k.startsWith("numberOf") || k.startsWith("sizeOf") || k.startsWith("nodesSkipped")) {
      v = isBig ? (vals as bigint[]).reduce((a, b) => a + b, 0n) : (vals as number[]).reduce((a, b) => a + b, 0);
    } else {
      // means, variances, percentiles: node-weighted average
      const w = stats.map((s) => (total > 0 ? weight(s) / total : 1 / stats.length));
      const avg = stats.reduce((acc, s, i) => acc + Number(s[k]) * w[i]!, 0);
      v = isBig ? BigInt(Math.round(avg)) : field.scalar !== undefined && field.fieldKind === "scalar" && isIntegral(field.scalar) ? Math.round(avg) : avg;
    }
    (out as Record<NumKey, number | bigint>)[k] = v;
  }
  return out;
}

function isIntegral(scalar: number): boolean {
  // ScalarType.DOUBLE = 1, FLOAT = 2; everything else numeric is an integer type
  return scalar !== 1 && scalar !== 2;
}

export function indexService(gw: Gateway): ServiceImpl<typeof Index> {
  return {
    indexInfo: async (_req, ctx) => sumCounts((await indexCounts(gw, "IndexInfo", scopeOf(ctx))).map((c) => c.value)),
    indexDetail: async (_req, ctx) => {
      const counts = await indexCounts(gw, "IndexDetail", scopeOf(ctx));
      return create(Info_Index_DetailSchema, {
        counts: Object.fromEntries(counts.map((c) => [c.agent.name, c.value])),
        replica: gw.replicas,
        liveAgents: gw.agents.list().length,
      });
    },
    indexStatistics: async (_req, ctx) =>
      mergeStatistics((await allAgents(gw, "IndexStatistics", scopeOf(ctx), (a, o) => a.clients.index.indexStatistics({}, o))).map((r) => r.value)),
    indexStatisticsDetail: async (_req, ctx) => {
      const rs = await allAgents(gw, "IndexStatisticsDetail", scopeOf(ctx), (a, o) => a.clients.index.indexStatistics({}, o));
      return create(Info_Index_StatisticsDetailSchema, { details: Object.fromEntries(rs.map((r) => [r.agent.name, r.value])) });
    },
    indexProperty: async (_req, ctx) => {
      const rs = await allAgents(gw, "IndexProperty", scopeOf(ctx), (a, o) => a.clients.index.indexProperty({}, o));
      const details: Record<string, (typeof rs)[number]["value"]["details"][string]> = {};
      for (const r of rs) {
        const entries = Object.entries(r.value.details);
        // An agent reports its own property under its own key; key it by the name we know it by.
        if (entries.length === 1) details[r.agent.name] = entries[0]![1];
        else for (const [k, v] of entries) details[`${r.agent.name}/${k}`] = v;
      }
      return create(Info_Index_PropertyDetailSchema, { details });
    },
  };
}
