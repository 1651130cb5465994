// The config file's hooks (src/config/api.ts) as the gateway's GatewayHooks: each user
// function wrapped so that a hook is awaited within --interceptor-timeout, its answer
// validated like a client's request, and its failures turned into status codes (its
// own ConnectError's code, else INTERNAL naming it). The search hook also runs
// alvd's retry loop. Loaded only when a config file has hooks.
import { clone, create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { InsertRequest, RemoveRequest, SearchRequest, SearchRetry, ServerHooks, UpdateRequest, UpsertRequest } from "../config/api";
import { formatDuration } from "../config/duration";
import type { RequestLimits } from "../config/limits";
import {
  Insert_ConfigSchema,
  Insert_RequestSchema,
  Object_DistanceSchema,
  Remove_ConfigSchema,
  Remove_RequestSchema,
  Search_ConfigSchema,
  Search_RequestSchema,
  Search_ResponseSchema,
  Update_ConfigSchema,
  Update_RequestSchema,
  Upsert_ConfigSchema,
  Upsert_RequestSchema,
  type Object_Distance,
  type Search_Config,
  type Search_Request,
  type Search_Response,
} from "../gen/payload/v1/payload_pb";
import type { Logger } from "../observe/log";
import type { GatewayHooks, SearchRun } from "./context";
import { gatewayError } from "./errors";
import type { CallScope } from "./fanout";
import { checkFloats, checkId, checkSearchConfig, checkVector } from "./validate";

export interface HookOptions {
  /** --interceptor-timeout (ms); 0 = none */
  timeoutMs: number;
  limits: RequestLimits;
  log: Logger;
}

type HookName = keyof ServerHooks;

/** A hook's bug is the server's fault, so INTERNAL; logged for whoever wrote it (at most every 10 s per hook). */
function failureReporter(log: Logger): (name: HookName, rpc: string, e: unknown) => ConnectError {
  const last = new Map<string, { at: number; quiet: number }>();
  return (name, rpc, e) => {
    if (e instanceof ConnectError) return e;
    const why = e instanceof Error ? e.message : String(e);
    const seen = last.get(name);
    const now = performance.now();
    if (seen === undefined || now - seen.at > 10_000) {
      // where in the user's file: the stack's first frame
      const where = e instanceof Error ? /\n\s*at (.*)/.exec(e.stack ?? "")?.[1] : undefined;
      log.warn(`${name} failed; the call answers INTERNAL`, { rpc, err: why, at: where, ...(seen?.quiet ? { notLogged: seen.quiet } : {}) });
      last.set(name, { at: now, quiet: 0 });
    } else seen.quiet++;
    return new ConnectError(`${rpc}: ${name} failed: ${why}`, Code.Internal);
  };
}

const isThenable = <T>(v: T | PromiseLike<T>): v is PromiseLike<T> => typeof (v as { then?: unknown } | null)?.then === "function";

export function installHooks(target: GatewayHooks, user: ServerHooks, opts: HookOptions): void {
  const fail = failureReporter(opts.log);
  const { limits } = opts;

  /** Runs a hook: a sync one as it is, an async one within --interceptor-timeout. */
  function invoke<T>(name: HookName, rpc: string, call: () => T | PromiseLike<T>): Promise<T> {
    let out: T | PromiseLike<T>;
    try {
      out = call();
    } catch (e) {
      return Promise.reject(fail(name, rpc, e));
    }
    if (!isThenable(out)) return Promise.resolve(out);
    const pending = out;
    return new Promise<T>((resolve, reject) => {
      const timer =
        opts.timeoutMs > 0
          ? setTimeout(
              () => reject(new ConnectError(`${rpc}: ${name} did not finish within --interceptor-timeout ${formatDuration(opts.timeoutMs)}`, Code.DeadlineExceeded)),
              opts.timeoutMs,
            )
          : undefined;
      pending.then(
        (v) => (clearTimeout(timer), resolve(v)),
        (e: unknown) => (clearTimeout(timer), reject(fail(name, rpc, e))),
      );
    });
  }

  /** What a hook handed back must pass the checks a client's request passed. */
  function checked<T>(name: HookName, rpc: string, value: T, check: (v: T) => void): T {
    try {
      check(value);
    } catch (e) {
      const err = ConnectError.from(e);
      throw new ConnectError(`${rpc}: ${name} returned an invalid request: ${err.rawMessage.replace(`${rpc}: `, "")}`, Code.Internal);
    }
    return value;
  }

  function write<S extends DescMessage, Seen>(
    name: HookName,
    fn: ((r: Seen) => unknown) | undefined,
    schema: S,
    fillConfig: (r: MessageShape<S>) => void,
    check: (rpc: string, r: MessageShape<S>) => void,
  ): ((rpc: string, req: MessageShape<S>) => Promise<MessageShape<S>>) | undefined {
    if (fn === undefined) return undefined;
    return async (rpc, req) => {
      fillConfig(req);
      const out = await invoke(name, rpc, () => fn(req as Seen));
      const next = out === undefined || out === null ? req : create(schema, out as MessageShape<S>);
      return checked(name, rpc, next, (r) => check(rpc, r));
    };
  }

  const vectorCheck = (rpc: string, r: { vector?: Parameters<typeof checkVector>[1] }) => void checkVector(rpc, r.vector, limits);

  target.insert = write<typeof Insert_RequestSchema, InsertRequest>(
    "insertDataInterceptor",
    user.insertDataInterceptor,
    Insert_RequestSchema,
    (r) => void (r.config ??= create(Insert_ConfigSchema)),
    vectorCheck,
  );
  target.update = write<typeof Update_RequestSchema, UpdateRequest>(
    "updateDataInterceptor",
    user.updateDataInterceptor,
    Update_RequestSchema,
    (r) => void (r.config ??= create(Update_ConfigSchema)),
    vectorCheck,
  );
  target.upsert = write<typeof Upsert_RequestSchema, UpsertRequest>(
    "upsertDataInterceptor",
    user.upsertDataInterceptor,
    Upsert_RequestSchema,
    (r) => void (r.config ??= create(Upsert_ConfigSchema)),
    vectorCheck,
  );
  target.remove = write<typeof Remove_RequestSchema, RemoveRequest>(
    "removeDataInterceptor",
    user.removeDataInterceptor,
    Remove_RequestSchema,
    (r) => void (r.config ??= create(Remove_ConfigSchema)),
    (rpc, r) => void checkId(rpc, r.id?.id, limits),
  );

  const query = user.searchQueryInterceptor;
  const result = user.searchResultInterceptor;
  target.search =
    query === undefined && result === undefined
      ? undefined
      : async (rpc, req, scope, run) => {
          let q = req;
          if (query !== undefined) {
            const out = await invoke("searchQueryInterceptor", rpc, () => query(req as SearchRequest));
            q = checked("searchQueryInterceptor", rpc, out === undefined || out === null ? req : create(Search_RequestSchema, out), (r) => {
              checkFloats(rpc, r.vector, checkSearchConfig(rpc, r.config, limits).requestId);
            });
          }
          return result === undefined ? run(q, scope) : retrying(rpc, q, scope, run, result);
        };

  /**
   * alvd's retryable search: the result hook may ask for another search with
   * num × nextNumMultiplier (capped at --max-search-num) while fewer than num results
   * are left, up to maxRetries times. min_num is checked on what the hook left.
   */
  async function retrying(rpc: string, req: Search_Request, scope: CallScope, run: SearchRun, hook: NonNullable<ServerHooks["searchResultInterceptor"]>): Promise<Search_Response> {
    const cfg = req.config!;
    const started = performance.now();
    let ask = cfg.num;
    for (let attempt = 0; ; attempt++) {
      const left = scope.timeoutMs === undefined ? undefined : Math.max(1, scope.timeoutMs - (performance.now() - started));
      // min_num is judged after the hook; a copy only when the agents are asked something else
      const one = ask === cfg.num && cfg.minNum === 0 ? req : create(Search_RequestSchema, { vector: req.vector, config: asking(cfg, ask) });
      let results: Object_Distance[];
      try {
        results = (await run(one, { signal: scope.signal, timeoutMs: left })).results;
      } catch (e) {
        if (ConnectError.from(e).code !== Code.NotFound) throw e;
        results = []; // too few is for the hook to see, and min_num below to judge
      }
      const retry: SearchRetry = { enabled: false, maxRetries: 3, nextNumMultiplier: 2 };
      const out = await invoke("searchResultInterceptor", rpc, () => hook(cfg, results, retry));
      const kept = distances(rpc, out === undefined || out === null ? results : out);
      const next = Math.min(Math.floor(ask * retry.nextNumMultiplier), limits.maxSearchNum);
      if (retry.enabled !== true || attempt >= retry.maxRetries || kept.length >= cfg.num || !(next > ask)) {
        const final = kept.length > cfg.num ? kept.slice(0, cfg.num) : kept;
        if (final.length < Math.max(1, cfg.minNum)) {
          throw gatewayError(Code.NotFound, final.length === 0 ? `${rpc}: no results` : `${rpc}: ${final.length} results, fewer than min_num ${cfg.minNum}`, {
            rpc,
            requestId: cfg.requestId,
            reason: "NOT_FOUND",
          });
        }
        return create(Search_ResponseSchema, { requestId: cfg.requestId, results: final });
      }
      ask = next;
    }
  }

  /** a proper message (not a spread object: the search path should see one shape of config) */
  function asking(cfg: Search_Config, num: number): Search_Config {
    const c = clone(Search_ConfigSchema, cfg);
    c.num = num;
    c.minNum = 0;
    return c;
  }

  /** The result hook's list as messages; holes and nulls (alvd's `results[i] = nil`) are dropped. */
  function distances(rpc: string, list: unknown): Object_Distance[] {
    const bad = (what: string) => new ConnectError(`${rpc}: searchResultInterceptor returned ${what}, expected an array of { id: string, distance: number }`, Code.Internal);
    if (!Array.isArray(list)) throw bad(typeof list);
    const out: Object_Distance[] = [];
    for (const r of list as unknown[]) {
      if (r === undefined || r === null) continue;
      const d = r as Partial<Object_Distance>;
      if (typeof d.id !== "string" || typeof d.distance !== "number") throw bad(`an item ${JSON.stringify(r)}`);
      out.push(d.$typeName === Object_DistanceSchema.typeName ? (d as Object_Distance) : create(Object_DistanceSchema, { id: d.id, distance: d.distance }));
    }
    return out;
  }

  const vectorizer = user.vectorizer;
  target.vectorize =
    vectorizer === undefined
      ? undefined
      : async (rpc, object, t) => {
          const out: unknown = await invoke("vectorizer", rpc, () => vectorizer(object, t));
          const vec = Array.isArray(out) || out instanceof Float32Array ? Array.from(out as ArrayLike<unknown>) : undefined;
          if (vec === undefined || vec.length < 2 || !vec.every((x) => typeof x === "number" && Number.isFinite(x))) {
            const what = vec === undefined ? (out === null ? "null" : typeof out) : `${vec.length} values`;
            throw new ConnectError(`${rpc}: vectorizer returned ${what}; expected number[] or Float32Array of at least 2 finite numbers`, Code.Internal);
          }
          return vec as number[];
        };
}
