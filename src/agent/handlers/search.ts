// vald.v1.Search: Search, SearchByID, LinearSearch(ByID) and their Stream*/Multi*
// forms. Search.Config → engine parameters is in validate.ts (searchSettings: the
// epsilon → ef mapping). Vald treats an empty result, or fewer than min_num results,
// as NotFound; Search.Config.timeout (ns) and the client's deadline both end a search
// with DeadlineExceeded.
import { create } from "@bufbuild/protobuf";
import { Code, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  Search_ResponseSchema,
  Search_ResponsesSchema,
  Search_StreamResponseSchema,
  type Search_Config,
  type Search_IDRequest,
  type Search_Request,
  type Search_Response,
} from "../../gen/payload/v1/payload_pb";
import type { Search } from "../../gen/vald/v1/search_pb";
import { racesItsSignal } from "../../rpc/call-context";
import { failed, unary, withDeadline, type HandlerEnv } from "./env";
import { failure, toStatus } from "./errors";
import { ordered, settle } from "./stream";
import { checkBatch, checkId, checkVector, searchSettings, type SearchSettings } from "./validate";
import { atItem } from "./write";

// Searches in flight per Stream or Multi call: a MultiSearch of 16 reaches the index as
// one batch (src/index/search-batcher.ts), and the native threads stay busy.
const SEARCH_CONCURRENCY = 16;

type Kind = "ann" | "linear";

interface Prepared {
  query: Float32Array;
  settings: SearchSettings;
  /** for error details */
  id?: string;
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export function searchService(env: HandlerEnv): ServiceImpl<typeof Search> {
  const { engine } = env;
  const { dimension, expansionSearch } = engine.options;

  const byVector = (req: Search_Request, field = ""): Prepared => ({
    // config first: a missing config is the more fundamental mistake
    settings: searchSettings(req.config, expansionSearch, env.limits, `${field}config`),
    query: checkVector(req, dimension, `${field}vector`),
  });

  const byId = (req: Search_IDRequest, field = ""): Prepared => {
    const settings = searchSettings(req.config, expansionSearch, env.limits, `${field}config`);
    const id = checkId(req.id, `${field}id`, env.limits);
    // Copy: the engine may hand out a view of its own storage.
    return { settings: { ...settings, requestId: settings.requestId || id }, query: Float32Array.from(engine.get(id).vector), id };
  };

  // `inStream`: an item of a Stream* call; nothing races it against the stream's signal, so it listens
  const run = async (kind: Kind, p: Prepared, ctx: HandlerContext, inStream = false): Promise<Search_Response> => {
    const work = kind === "ann" ? engine.search(p.query, p.settings.params) : engine.linearSearch(p.query, p.settings.params);
    const hits = await withDeadline(work, p.settings.timeoutMs, ctx, inStream || !racesItsSignal(ctx));
    if (hits.length === 0) throw failure(Code.NotFound, "search result is empty", "SEARCH_RESULT_EMPTY");
    if (hits.length < p.settings.minNum) {
      throw failure(Code.NotFound, `search found ${hits.length} results, fewer than min_num ${p.settings.minNum}`, "SEARCH_RESULT_BELOW_MIN_NUM");
    }
    return create(Search_ResponseSchema, {
      requestId: p.settings.requestId,
      results: hits.map((h) => ({ id: h.id, distance: h.distance })),
    });
  };

  const requestIdOf = (config: Search_Config | undefined) => config?.requestId || undefined;

  function family<R extends { config?: Search_Config }>(kind: Kind, prepare: (req: R, field?: string) => Prepared, idOf: (req: R) => string | undefined) {
    return {
      unary: (req: R, ctx: HandlerContext) =>
        unary(env, ctx, () => run(kind, prepare(req), ctx), { requestId: requestIdOf(req.config), id: idOf(req) }),

      stream: (reqs: AsyncIterable<R>, ctx: HandlerContext) =>
        ordered(
          reqs,
          (req) =>
            settle(
              () => run(kind, prepare(req), ctx, true),
              (res) => create(Search_StreamResponseSchema, { payload: { case: "response", value: res } }),
              (e) =>
                create(Search_StreamResponseSchema, {
                  payload: { case: "status", value: toStatus(failed(env, ctx, e, { requestId: requestIdOf(req.config), id: idOf(req) })) },
                }),
            ),
          SEARCH_CONCURRENCY,
        ),

      // Every query is validated before any runs; then all run and the call fails with
      // the first failing query's error (Vald documents the codes per call).
      multi: (req: { requests: R[] }, ctx: HandlerContext) =>
        unary(env, ctx, async () => {
          checkBatch(req.requests.length, env.limits);
          const prepared = req.requests.map((r, i) => prepare(r, `requests[${i}].`));
          const responses = await mapLimited(prepared, SEARCH_CONCURRENCY, (p, i) =>
            run(kind, p, ctx).catch((e: unknown) => {
              throw atItem(e, i, p.id ?? "");
            }),
          );
          return create(Search_ResponsesSchema, { responses });
        }),
    };
  }

  const ann = family<Search_Request>("ann", byVector, () => undefined);
  const annById = family<Search_IDRequest>("ann", byId, (r) => r.id);
  const linear = family<Search_Request>("linear", byVector, () => undefined);
  const linearById = family<Search_IDRequest>("linear", byId, (r) => r.id);

  return {
    search: ann.unary,
    searchByID: annById.unary,
    streamSearch: ann.stream,
    streamSearchByID: annById.stream,
    multiSearch: ann.multi,
    multiSearchByID: annById.multi,
    linearSearch: linear.unary,
    linearSearchByID: linearById.unary,
    streamLinearSearch: linear.stream,
    streamLinearSearchByID: linearById.stream,
    multiLinearSearch: linear.multi,
    multiLinearSearchByID: linearById.multi,
  };
}
