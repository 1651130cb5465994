// Calling many agents at once. Every call gets its own deadline and cancellation
// (linked to the client's), is counted per agent, and settles into an Outcome instead
// of throwing, so handlers decide what partial success means for their RPC.
import { Code, ConnectError, type CallOptions } from "@connectrpc/connect";
import type { AgentHandle } from "./agents";
import type { Gateway } from "./context";
import { isLost } from "./errors";

export type Outcome<T> = { agent: AgentHandle; ok: true; value: T } | { agent: AgentHandle; ok: false; error: ConnectError };

export interface CallScope {
  /** the client's cancellation (HandlerContext.signal) */
  signal?: AbortSignal;
  /** per-call deadline in ms; undefined or <= 0 = none */
  timeoutMs?: number;
}

export type AgentCall<T> = (agent: AgentHandle, opts: CallOptions) => Promise<T>;

function deadlineError(ms: number): ConnectError {
  return new ConnectError(`agent did not answer within ${Math.round(ms)}ms`, Code.DeadlineExceeded);
}

/** One call with a hard deadline: it settles by then even if the transport does not. */
export async function callAgent<T>(gw: Gateway, agent: AgentHandle, method: string, scope: CallScope, call: AgentCall<T>): Promise<Outcome<T>> {
  const t0 = performance.now();
  const ac = new AbortController();
  const parent = scope.signal;
  const ms = scope.timeoutMs !== undefined && scope.timeoutMs > 0 ? scope.timeoutMs : undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onParentAbort: (() => void) | undefined;
  try {
    // One promise settled by whichever comes first: the call, the deadline, the client
    // going away. (A listener on ac.signal and a Promise.race per call showed in profiles.)
    const value = await new Promise<T>((resolve, reject) => {
      // The agent hears why: the client went away, or the gateway stopped waiting for it.
      const stop = (why: ConnectError) => {
        ac.abort(why);
        reject(why);
      };
      const why = () => (parent?.reason instanceof ConnectError ? parent.reason : new ConnectError("request canceled", Code.Canceled));
      if (parent !== undefined) {
        if (parent.aborted) return stop(why());
        onParentAbort = () => stop(why());
        parent.addEventListener("abort", onParentAbort, { once: true });
      }
      if (ms !== undefined) timer = setTimeout(() => stop(deadlineError(ms)), ms);
      call(agent, { signal: ac.signal, timeoutMs: ms }).then(resolve, reject);
    });
    gw.metrics.agentCall(agent.name, method, undefined, (performance.now() - t0) / 1000);
    return { agent, ok: true, value };
  } catch (e) {
    const error = ConnectError.from(e);
    gw.metrics.agentCall(agent.name, method, error.code, (performance.now() - t0) / 1000);
    return { agent, ok: false, error };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    if (onParentAbort !== undefined) parent?.removeEventListener("abort", onParentAbort);
    // Nothing to abort: a call that settled holds nothing, and one we stopped waiting for
    // was cancelled through ac already (aborting costs an Error with a stack trace).
  }
}

/** Calls every agent concurrently and waits for all of them (each bounded by its deadline). */
export async function fanOut<T>(gw: Gateway, agents: readonly AgentHandle[], method: string, scope: CallScope, call: AgentCall<T>): Promise<Outcome<T>[]> {
  const t0 = performance.now();
  const out = await Promise.all(agents.map((a) => callAgent(gw, a, method, scope, call)));
  gw.metrics.fanOut(method, agents.length, (performance.now() - t0) / 1000);
  return out;
}

/**
 * Asks every agent and settles with the first success, cancelling the others (a read
 * from any replica is as good as another). Without a success, every outcome.
 */
export function firstSuccess<T>(gw: Gateway, agents: readonly AgentHandle[], method: string, scope: CallScope, call: AgentCall<T>): Promise<{ agent: AgentHandle; value: T } | { failures: Extract<Outcome<T>, { ok: false }>[] }> {
  const t0 = performance.now();
  const ac = new AbortController();
  const onAbort = () => ac.abort(new ConnectError("request canceled", Code.Canceled));
  scope.signal?.addEventListener("abort", onAbort, { once: true });
  const linked: CallScope = { signal: ac.signal, timeoutMs: scope.timeoutMs };
  return new Promise((resolve) => {
    const failures: Extract<Outcome<T>, { ok: false }>[] = [];
    let pending = agents.length;
    let done = false;
    const finish = (r: { agent: AgentHandle; value: T } | { failures: typeof failures }) => {
      done = true;
      scope.signal?.removeEventListener("abort", onAbort);
      gw.metrics.fanOut(method, agents.length, (performance.now() - t0) / 1000);
      resolve(r);
      if (pending > 0) ac.abort(new ConnectError("answered by another replica", Code.Canceled));
    };
    if (agents.length === 0) return finish({ failures });
    for (const a of agents) {
      void callAgent(gw, a, method, linked, call).then((o) => {
        pending--;
        if (done) return;
        if (o.ok) return finish({ agent: o.agent, value: o.value });
        failures.push(o);
        if (failures.length === agents.length) finish({ failures });
      });
    }
  });
}

/** Outcomes of a broadcast write, sorted by what they mean for the write. */
export interface Split<T> {
  ok: { agent: AgentHandle; value: T }[];
  notFound: ConnectError[];
  lost: { agent: AgentHandle; error: ConnectError }[];
  failed: { agent: AgentHandle; error: ConnectError }[];
}

export function split<T>(outcomes: readonly Outcome<T>[]): Split<T> {
  const s: Split<T> = { ok: [], notFound: [], lost: [], failed: [] };
  for (const o of outcomes) {
    if (o.ok) s.ok.push({ agent: o.agent, value: o.value });
    else if (o.error.code === Code.NotFound) s.notFound.push(o.error);
    else if (isLost(o.error)) s.lost.push({ agent: o.agent, error: o.error });
    else s.failed.push({ agent: o.agent, error: o.error });
  }
  return s;
}

/** Deadline for agent calls: the client's remaining time, if it set one. */
export function clientTimeout(ctx: { timeoutMs(): number | undefined }): number | undefined {
  const t = ctx.timeoutMs();
  return t !== undefined && t > 0 ? t : undefined;
}

export interface GatherRule<T> {
  /** whether the outcomes so far are enough to stop waiting for the rest */
  enough(settled: readonly Outcome<T>[]): boolean;
  /** never stop early before this long after the start (ms) */
  minWaitMs?: number;
  /** once enough, wait this much longer for the rest (ms) */
  graceMs?: number;
  /** what the agents not waited for are told when their calls are cancelled */
  reason?: string;
  /** let the calls not waited for run on (to their own deadline) instead of cancelling them */
  letRun?: boolean;
}

/**
 * Calls every agent like fanOut, but stops waiting once `rule.enough` holds (after the
 * minimum wait and the grace): agents still running are reported as Unavailable
 * outcomes, i.e. as lost replicas for this call, and cancelled (unless `letRun`; they
 * are no longer tied to the client's cancellation then, which fires once it has its answer).
 */
export function gatherUntil<T>(gw: Gateway, agents: readonly AgentHandle[], method: string, scope: CallScope, call: AgentCall<T>, rule: GatherRule<T>): Promise<Outcome<T>[]> {
  const t0 = performance.now();
  const ac = new AbortController();
  const onAbort = () => ac.abort(new ConnectError("request canceled", Code.Canceled));
  if (scope.signal?.aborted) onAbort();
  else scope.signal?.addEventListener("abort", onAbort, { once: true });
  const linked: CallScope = { signal: ac.signal, timeoutMs: scope.timeoutMs };
  const minWait = rule.minWaitMs ?? 0;
  const grace = rule.graceMs ?? 0;
  const order = new Map(agents.map((a, i) => [a, i]));
  return new Promise((resolve) => {
    const settled: Outcome<T>[] = [];
    const waiting = new Set(agents);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let enoughAt: number | undefined;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      scope.signal?.removeEventListener("abort", onAbort);
      const why = new ConnectError(rule.reason ?? "not waited for", Code.Unavailable);
      const out = [...settled, ...[...waiting].map((agent): Outcome<T> => ({ agent, ok: false, error: why }))];
      // in the agents' order, as fanOut answers (merges break ties by it)
      out.sort((a, b) => order.get(a.agent)! - order.get(b.agent)!);
      gw.metrics.fanOut(method, agents.length, (performance.now() - t0) / 1000);
      resolve(out);
      if (waiting.size > 0 && rule.letRun !== true) ac.abort(new ConnectError(rule.reason ?? "answered without this agent", Code.Canceled));
    };
    const check = () => {
      if (done) return;
      if (waiting.size === 0) return finish();
      if (enoughAt === undefined) {
        if (!rule.enough(settled)) return;
        enoughAt = performance.now();
      }
      const at = Math.max(t0 + minWait, enoughAt + grace);
      const left = at - performance.now();
      if (left <= 0) return finish();
      if (timer === undefined) timer = setTimeout(finish, left);
    };
    if (agents.length === 0) return finish();
    for (const a of agents) {
      void callAgent(gw, a, method, linked, call).then((o) => {
        if (done) return;
        waiting.delete(a);
        settled.push(o);
        check();
      });
    }
    if (minWait > 0 && rule.enough(settled)) check();
  });
}
