// What every gateway handler needs: the live agents and the settings they act on.
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
}
