// How many agents a search may go without while every stored id is still on an agent
// that answered. With every id on `target` distinct agents, any target-1 of them may be
// missing. That holds only while replication is known to be complete, so the count is
// granted by the repair (a scan that found nothing under-replicated) and taken back by
// whatever may have left an id with fewer copies since: an agent leaving, a write
// acknowledged before all its replicas stored it, a write that ended short.
export interface Coverage {
  /** agents a search answer may lack without missing any id (0 = wait for all) */
  spare(): number;
  /** a repair scan starts; pass the token to clean() when it finds nothing to repair */
  scanStarted(): number;
  /** the scan begun at `token` found every id at `target` copies on live agents */
  clean(token: number, target: number): void;
  /** the scan found under-replicated ids (the spare is 0 until a clean one) */
  degraded(): void;
  /** an agent holding copies left */
  agentLeft(): void;
  /** a write stored fewer copies than the target for now; call the result when it is complete (true) or gave up (false) */
  shortWrite(): (complete: boolean) => void;
}

/** `onDirty`: told when something may have left ids short of copies (e.g. to start a repair scan) */
export function createCoverage(onDirty: () => void = () => {}): Coverage {
  let seq = 0;
  let base = 0;
  /** sequence numbers of events that may have removed copies since the last clean scan */
  let lastDirty = 0;
  let dirty = true;
  let left: number[] = [];
  let shortInFlight = 0;
  return {
    spare() {
      if (dirty || shortInFlight > 0) return 0;
      return Math.max(0, base - left.length);
    },
    scanStarted: () => ++seq,
    clean(token, target) {
      if (lastDirty > token) return;
      base = Math.max(0, target - 1);
      dirty = false;
      left = left.filter((s) => s > token);
    },
    degraded() {
      dirty = true;
      lastDirty = ++seq;
    },
    agentLeft() {
      left.push(++seq);
      onDirty();
    },
    shortWrite() {
      shortInFlight++;
      let settled = false;
      return (complete) => {
        if (settled) return;
        settled = true;
        shortInFlight--;
        if (!complete) {
          dirty = true;
          lastDirty = ++seq;
          onDirty();
        }
      };
    },
  };
}

/** No repair running: searches always wait for every agent. */
export const noCoverage: Coverage = {
  spare: () => 0,
  scanStarted: () => 0,
  clean() {},
  degraded() {},
  agentLeft() {},
  shortWrite: () => () => {},
};
