// Deterministic crash points for recovery tests. ALVD_TEST_CRASH_AT (read at the
// process edge into EngineOptions.crashAt) names a step, optionally with the how-many-th
// time it is reached ("save:after-meta#2"); reaching it SIGKILLs the process, so the
// test sees exactly what a power cut at that step leaves on disk. Unset, every call
// is a no-op.

export type CrashPoint =
  | "save:after-rotate"
  | "save:after-graph"
  | "save:after-ids"
  | "save:after-meta"
  | "save:after-drop"
  | "create-index:after-take"
  | "create-index:after-add"
  | "recovery:after-aside";

export const CRASH_POINTS: readonly CrashPoint[] = [
  "save:after-rotate",
  "save:after-graph",
  "save:after-ids",
  "save:after-meta",
  "save:after-drop",
  "create-index:after-take",
  "create-index:after-add",
  "recovery:after-aside",
];

export function crashPoints(spec: string | undefined): (point: CrashPoint) => void {
  if (!spec) return () => {};
  const [name, nth] = spec.split("#");
  if (!CRASH_POINTS.includes(name as CrashPoint)) throw new Error(`ALVD_TEST_CRASH_AT: unknown crash point ${JSON.stringify(name)}`);
  let left = nth === undefined ? 1 : Number(nth);
  return (point) => {
    if (point === name && --left === 0) process.kill(process.pid, "SIGKILL");
  };
}
