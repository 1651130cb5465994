// What every gateway handler needs: the live agents and the settings they act on.
import type {
  Filter_Target,
  Insert_Request,
  Remove_Request,
  Search_Request,
  Search_Response,
  Update_Request,
  Upsert_Request,
} from "../gen/payload/v1/payload_pb";
import type { Logger } from "../observe/log";
import type { AgentSet } from "./agents";
import type { Coverage } from "./coverage";
import type { SearchGrace } from "./grace";
import type { IdLocks } from "./id-locks";
import type { GatewayMetrics } from "./metrics";
import type { Suspects } from "./placement";
import type { SearchBarrier } from "./search-barrier";
import type { Tombstones } from "./tombstones";
import type { RequestLimits } from "../config/limits";
import type { CallScope } from "./fanout";

/** the merged search the hooks wrap (search.ts's searchVector for one kind) */
export type SearchRun = (req: Search_Request, scope: CallScope) => Promise<Search_Response>;

/**
 * The config file's hooks as the gateway calls them (hooks.ts fills these in). A field is
 * undefined when no such hook is configured: that test is all an unhooked call pays.
 * Write hooks get a validated request and resolve to the one to carry out, validated.
 */
export interface GatewayHooks {
  search?: (rpc: string, req: Search_Request, scope: CallScope, run: SearchRun) => Promise<Search_Response>;
  insert?: (rpc: string, req: Insert_Request) => Promise<Insert_Request>;
  update?: (rpc: string, req: Update_Request) => Promise<Update_Request>;
  upsert?: (rpc: string, req: Upsert_Request) => Promise<Upsert_Request>;
  remove?: (rpc: string, req: Remove_Request) => Promise<Remove_Request>;
  vectorize?: (rpc: string, object: Uint8Array, target: Filter_Target | undefined) => Promise<number[]>;
}

export interface Gateway {
  readonly agents: AgentSet;
  /** copies of each vector (capped at the number of live agents) */
  readonly replicas: number;
  readonly log: Logger;
  readonly metrics: GatewayMetrics;
  /** items of one Multi* call in flight at once */
  readonly multiConcurrency: number;
  /** requests of one bidi stream in flight at once (responses still go out in order) */
  readonly streamConcurrency: number;
  /** search timeout when Search.Config.timeout is 0 (ms) */
  readonly searchTimeoutMs: number;
  /** what one request may ask for */
  readonly limits: RequestLimits;
  /** random source for placement tie-breaks (tests may fix it) */
  readonly random: () => number;
  /** a replica slower than this (ms) is given up on for the write and replaced; 0 = wait for the deadline */
  readonly replicaTimeoutMs: number;
  /** replicas that must have stored an insert before it is acknowledged (<= replicas); the rest follow */
  readonly writeConsistency: number;
  /** ids being written or repaired right now (shared with the server's repair) */
  readonly locks: IdLocks;
  /** how many agents a search may do without (granted by the repair) */
  readonly coverage: Coverage;
  /** how long a covered search still waits for the slowest agents */
  readonly grace: SearchGrace;
  /** searches in flight, for the repair to wait out before it drops a moved copy */
  readonly searches: SearchBarrier;
  /** removes some agent may have missed, so the repair does not copy them back */
  readonly tombstones: Tombstones;
  /** agents placement avoids for a while after they stalled a write */
  readonly suspects: Suspects;
  /** the config file's interceptors and vectorizer; replaced in place on SIGHUP */
  readonly hooks: GatewayHooks;
}
