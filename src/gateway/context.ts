// What every gateway handler needs: the live agents and the settings they act on.
import type { Logger } from "../observe/log";
import type { AgentSet } from "./agents";
import type { GatewayMetrics } from "./metrics";
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
}
