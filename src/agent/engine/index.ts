// Public surface of the agent engine.
export { createEngine, type EngineDeps } from "./engine";
export type { RecoveryReport } from "./persistence";
export type * from "./types";
