// What an alvd.config.ts may put in its `server` section besides settings: the hooks,
// typed with the generated protobuf-es messages. Types only: `bun run gen` copies these
// declarations, with the messages they name, into src/gen/alvd.d.ts (what `alvd types`
// prints for editors), so the server and users' editors read one definition.
import type {
  Filter_Target,
  Insert_Config,
  Insert_Request,
  Object_Distance,
  Object_ID,
  Object_Vector,
  Remove_Config,
  Remove_Request,
  Search_Config,
  Search_Request,
  Update_Config,
  Update_Request,
  Upsert_Config,
  Upsert_Request,
} from "../gen/payload/v1/payload_pb";

/** A hook returns nothing (it changed its argument in place) or a replacement, at once or as a promise. */
export type HookResult<T> = T | void | Promise<T | void>;

/** One search result as a searchResultInterceptor may return it. */
export interface SearchResult {
  id: string;
  distance: number;
}

/** How a searchResultInterceptor asks for another, wider search (alvd's retryable.lua). */
export interface SearchRetry {
  /** search again while fewer than `config.num` results are left (default false) */
  enabled: boolean;
  /** at most this many more searches (default 3) */
  maxRetries: number;
  /** each retry asks the agents for this many times the previous number of results (default 2) */
  nextNumMultiplier: number;
}

/** A write request as a hook sees it: validated, with `config` always present. */
export type InsertRequest = Insert_Request & { vector: Object_Vector; config: Insert_Config };
export type UpdateRequest = Update_Request & { vector: Object_Vector; config: Update_Config };
export type UpsertRequest = Upsert_Request & { vector: Object_Vector; config: Upsert_Config };
export type RemoveRequest = Remove_Request & { id: Object_ID; config: Remove_Config };
/** A search request as a hook sees it: validated; SearchByID, LinearSearch and SearchObject arrive as this too. */
export type SearchRequest = Search_Request & { config: Search_Config };

/**
 * Hooks of the server section, all optional, sync or async. They run in the gateway
 * for unary, Multi* and Stream* calls over every protocol (gRPC, gRPC-web, Connect).
 * Throw a ConnectError to answer with its code (e.g. PERMISSION_DENIED to refuse a
 * write); any other throw is INTERNAL naming the hook, and one that takes longer than
 * --interceptor-timeout is DEADLINE_EXCEEDED. In a stream only that item fails.
 * SIGHUP reloads them from the file without a restart.
 */
export interface ServerHooks {
  /** Before a search: may change the request (vector, num, filters …) or return a new one. */
  searchQueryInterceptor?(request: SearchRequest): HookResult<Search_Request>;
  /**
   * After the agents' results are merged (nearest first): may change `results` in place,
   * or return a new array. Set `retry.enabled` to search again with more results when
   * fewer than `config.num` are left. The answer is cut to `config.num`.
   */
  searchResultInterceptor?(config: Search_Config, results: Object_Distance[], retry: SearchRetry): HookResult<SearchResult[]>;
  /** Before an insert (also MultiInsert, StreamInsert, InsertObject): change the request, or throw to refuse it. */
  insertDataInterceptor?(request: InsertRequest): HookResult<Insert_Request>;
  /** Before an update: change the request, or throw to refuse it. */
  updateDataInterceptor?(request: UpdateRequest): HookResult<Update_Request>;
  /** Before an upsert: change the request, or throw to refuse it. */
  upsertDataInterceptor?(request: UpsertRequest): HookResult<Upsert_Request>;
  /** Before a remove: change the request, or throw to refuse it. */
  removeDataInterceptor?(request: RemoveRequest): HookResult<Remove_Request>;
  /**
   * Turns an object (the bytes of vald.v1.Filter's InsertObject, SearchObject, …) into
   * a vector; `target` is the request's `vectorizer` (host, port) when it names one.
   */
  vectorizer?(object: Uint8Array, target: Filter_Target | undefined): number[] | Float32Array | Promise<number[] | Float32Array>;
}
