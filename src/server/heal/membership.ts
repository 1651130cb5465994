// Which agents the server knows: every agent ever connected, by name, with when it was
// first and last seen and whether it is connected. One that disconnects is *away*: its
// copies still count (it may be restarting with its data). Away longer than
// --agent-lost-after, it is *lost*: its copies stop counting and the repair recreates
// them elsewhere. A lost agent that reconnects under its name is the same agent again
// (with whatever data it kept); copies beyond the target are then trimmed.
import type { Logger } from "../../observe/log";

export type MemberState = "connected" | "away" | "lost";

export interface Member {
  readonly name: string;
  /** ms since the epoch */
  readonly firstSeen: number;
  /** now while connected, else when it disconnected */
  readonly lastSeen: number;
  readonly state: MemberState;
}

export type MemberEvent = { kind: "joined" | "returned" | "away" | "lost"; name: string };

export interface Membership {
  connected(name: string): void;
  disconnected(name: string): void;
  list(): Member[];
  get(name: string): Member | undefined;
  /** members disconnected but not yet lost (their copies are unknown, yet still count) */
  away(): Member[];
  onEvent(listener: (e: MemberEvent) => void): () => void;
  close(): void;
}

interface Entry {
  name: string;
  firstSeen: number;
  lastSeen: number;
  state: MemberState;
  timer?: ReturnType<typeof setTimeout>;
}

export function createMembership(opts: { lostAfterMs: number; log: Logger; now?: () => number }): Membership {
  const now = opts.now ?? Date.now;
  const log = opts.log;
  const members = new Map<string, Entry>();
  const listeners = new Set<(e: MemberEvent) => void>();
  const emit = (e: MemberEvent) => {
    for (const l of listeners) l(e);
  };
  const view = (e: Entry): Member => ({ name: e.name, firstSeen: e.firstSeen, lastSeen: e.state === "connected" ? now() : e.lastSeen, state: e.state });
  const seconds = (ms: number) => Math.round(ms / 100) / 10;

  return {
    connected(name) {
      const t = now();
      const e = members.get(name);
      if (e === undefined) {
        members.set(name, { name, firstSeen: t, lastSeen: t, state: "connected" });
        log.info("agent joined", { agent: name });
        emit({ kind: "joined", name });
        return;
      }
      if (e.timer !== undefined) clearTimeout(e.timer);
      e.timer = undefined;
      const was = e.state;
      const gone = t - e.lastSeen;
      e.state = "connected";
      e.lastSeen = t;
      if (was === "connected") return;
      if (was === "lost") log.info("lost agent returned: it is the same agent again; copies above the replica count will be trimmed", { agent: name, goneSeconds: seconds(gone) });
      else log.info("agent returned", { agent: name, goneSeconds: seconds(gone) });
      emit({ kind: "returned", name });
    },
    disconnected(name) {
      const e = members.get(name);
      if (e === undefined || e.state !== "connected") return;
      e.state = "away";
      e.lastSeen = now();
      log.warn("agent disconnected: its copies still count until it is lost", { agent: name, lostAfterSeconds: seconds(opts.lostAfterMs) });
      emit({ kind: "away", name });
      e.timer = setTimeout(() => {
        e.timer = undefined;
        if (e.state !== "away") return;
        e.state = "lost";
        log.warn("agent lost: its copies no longer count; the repair recreates them on the other agents", { agent: name, goneSeconds: seconds(now() - e.lastSeen) });
        emit({ kind: "lost", name });
      }, opts.lostAfterMs);
      e.timer.unref?.();
    },
    list: () => [...members.values()].map(view).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    get: (name) => {
      const e = members.get(name);
      return e && view(e);
    },
    away: () => [...members.values()].filter((e) => e.state === "away").map(view),
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      for (const e of members.values()) if (e.timer !== undefined) clearTimeout(e.timer);
      listeners.clear();
    },
  };
}
