// vald.v1.Insert's unary path: place a vector on `replicas` least-loaded agents
// (multi-insert.ts batches; insert-service.ts is the service).
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Insert_RequestSchema, type Insert_Request, type Object_Location, type Object_Vector } from "../gen/payload/v1/payload_pb";
import type { AgentHandle } from "./agents";
import type { Gateway } from "./context";
import { gatewayError, isLost, mostMeaningful, noAgents, relay } from "./errors";
import { callAgent, fanOut, gatherUntil, split, type CallScope } from "./fanout";
import { names } from "./holders";
import { replicaLocation } from "./location";
import { chooseReplicas, placeable } from "./placement";
import { stamp } from "./timestamp";
import { checkVector } from "./validate";

/** A write whose answer is known; its remaining replicas may still be being written. */
export interface Placed {
  location: Object_Location;
  /** resolves when no copy of this write is in flight any more */
  settled: Promise<void>;
}

/** bound on a replica call started after the client has its answer, without --replica-timeout */
const BACKGROUND_TIMEOUT_MS = 5000;

/**
 * Insert with the id held against the repair and other writes of it (id-locks.ts)
 * until every replica call is over, including ones still running after the answer.
 */
export async function insertOne(gw: Gateway, rpc: string, req: Insert_Request, scope: CallScope): Promise<Object_Location> {
  checkVector(rpc, req.vector, gw.limits);
  const hook = gw.hooks.insert;
  return insertChecked(gw, rpc, hook === undefined ? req : await hook(rpc, req), scope);
}

/** An insert whose request is validated and past the insert hook. */
export function insertChecked(gw: Gateway, rpc: string, req: Insert_Request, scope: CallScope): Promise<Object_Location> {
  const vec = req.vector!;
  return holdingUntilSettled(gw, vec.id, () => insertHeld(gw, rpc, req, vec, scope));
}

/** Runs a write holding its id until the write's last replica call is over. */
export async function holdingUntilSettled(gw: Gateway, id: string, write: () => Promise<Placed>): Promise<Object_Location> {
  const release = await gw.locks.acquire([id]);
  try {
    const placed = await write();
    void placed.settled.finally(release);
    return placed.location;
  } catch (e) {
    release();
    throw e;
  }
}

/**
 * Insert on the chosen replicas (the caller holds the id). Strict mode asks the *other*
 * agents whether the id exists (the chosen ones check it themselves as part of their
 * insert), so a one-agent setup pays a single call. See placeCopies for when it is
 * acknowledged.
 */
export async function insertHeld(gw: Gateway, rpc: string, req: Insert_Request, vec: Object_Vector, scope: CallScope): Promise<Placed> {
  const id = vec.id;
  const agents = gw.agents.list();
  if (agents.length === 0) throw noAgents(rpc, id);
  const target = Math.min(Math.max(1, gw.replicas), placeable(agents).length);
  const chosen = chooseReplicas(agents, target, gw.random, gw.suspects);
  const strict = req.config?.skipStrictExistCheck !== true;
  if (strict) {
    const others = agents.filter((a) => !chosen.includes(a));
    if (others.length > 0) {
      const exists = (a: AgentHandle, o: Parameters<typeof a.clients.object.exists>[1]) => a.clients.object.exists({ id }, o);
      // An agent silent past --replica-timeout is taken as not holding the id: a hung
      // agent must not stall every insert (should it hold the id after all, the copies
      // converge on the newest timestamp, which is this insert's).
      const outcomes =
        gw.replicaTimeoutMs > 0
          ? await gatherUntil(gw, others, "Exists", scope, exists, { enough: () => true, minWaitMs: gw.replicaTimeoutMs, reason: "no answer within --replica-timeout" })
          : await fanOut(gw, others, "Exists", scope, exists);
      const s = split(outcomes);
      if (s.ok.length > 0) {
        throw gatewayError(Code.AlreadyExists, `${rpc}: id ${JSON.stringify(id)} already exists on ${names(s.ok).join(",")}`, {
          rpc,
          requestId: id,
          reason: "ALREADY_EXISTS",
        });
      }
      if (s.failed.length > 0) throw relay(mostMeaningful(s.failed.map((f) => f.error)));
    }
  }
  const agentReq = create(Insert_RequestSchema, {
    vector: vec,
    config: { skipStrictExistCheck: !strict, filters: req.config?.filters, timestamp: stamp(req.config?.timestamp) },
  });
  const need = gw.writeConsistency > 0 ? Math.min(gw.writeConsistency, target) : target;
  return placeCopies(gw, rpc, id, agentReq, chosen, target, need, scope);
}

/**
 * Writes the copies: acknowledged once `need` replicas stored it (--write-consistency;
 * all by default); the others go on in the background. A replica that vanished
 * (Unavailable) or stayed silent past --replica-timeout is replaced by the next
 * least-loaded agent not tried yet; with none left the insert succeeds with the copies
 * it has, and the repair completes them. A refusal before the answer fails the insert
 * and removes the copies already written (best effort), so a failed insert leaves
 * nothing behind.
 */
function placeCopies(gw: Gateway, rpc: string, id: string, req: Insert_Request, first: readonly AgentHandle[], target: number, need: number, scope: CallScope): Promise<Placed> {
  const started = performance.now();
  const clientDeadline = scope.timeoutMs !== undefined && scope.timeoutMs > 0 ? started + scope.timeoutMs : undefined;
  const ac = new AbortController();
  const onClientAbort = () => ac.abort(new ConnectError("request canceled", Code.Canceled));
  if (scope.signal?.aborted) onClientAbort();
  else scope.signal?.addEventListener("abort", onClientAbort, { once: true });

  const ok: { agent: AgentHandle; value: Object_Location }[] = [];
  const refused: ConnectError[] = [];
  const lost: { agent: AgentHandle; error: ConnectError }[] = [];
  const tried = new Set(first);
  let inFlight = 0;
  let answered = false;
  let short: ((complete: boolean) => void) | undefined;
  let settle!: () => void;
  const settled = new Promise<void>((r) => (settle = r));

  return new Promise<Placed>((resolve, reject) => {
    const answer = () => {
      answered = true;
      // Connect aborts the client's signal once we answer: the background goes on without it.
      scope.signal?.removeEventListener("abort", onClientAbort);
      if (ok.length < target) short = gw.coverage.shortWrite();
      resolve({ location: replicaLocation(id, ok), settled });
    };

    const launch = (agent: AgentHandle) => {
      inFlight++;
      agent.adjustStored(1);
      // Before the answer a call may take the client's time; --replica-timeout, when
      // shorter, gives up on it sooner so another agent can take its place.
      const remaining = answered ? BACKGROUND_TIMEOUT_MS : clientDeadline !== undefined ? Math.max(1, clientDeadline - performance.now()) : undefined;
      const replicaBound = gw.replicaTimeoutMs > 0 && (remaining === undefined || gw.replicaTimeoutMs < remaining);
      const timeoutMs = replicaBound ? gw.replicaTimeoutMs : remaining;
      void callAgent(gw, agent, rpc, { signal: ac.signal, timeoutMs }, (a, o) => a.clients.insert.insert(req, o)).then((o) => {
        inFlight--;
        if (o.ok) ok.push({ agent, value: o.value });
        else {
          agent.adjustStored(-1);
          const slow = replicaBound && o.error.code === Code.DeadlineExceeded;
          if (slow) gw.suspects.mark(agent);
          if (isLost(o.error) || slow) lost.push({ agent, error: o.error });
          else refused.push(o.error);
        }
        step();
      });
    };

    const step = () => {
      if (!answered && refused.length > 0) {
        if (inFlight > 0) return;
        answered = true;
        scope.signal?.removeEventListener("abort", onClientAbort);
        void rollback(gw, rpc, id, ok.map((o) => o.agent)).finally(settle);
        reject(relay(mostMeaningful([...refused, ...lost.map((l) => l.error)])));
        return;
      }
      if (!answered && ok.length >= need) answer();
      // Replace replicas that vanished or stalled while copies are missing.
      const missing = target - ok.length - inFlight;
      if (missing > 0 && refused.length === 0) {
        const spare = gw.agents.list().filter((a) => !tried.has(a));
        for (const a of chooseReplicas(spare, missing, gw.random, gw.suspects)) {
          tried.add(a);
          launch(a);
        }
      }
      if (inFlight > 0) return;
      if (!answered) {
        if (ok.length === 0) {
          answered = true;
          scope.signal?.removeEventListener("abort", onClientAbort);
          reject(relay(mostMeaningful(lost.map((l) => l.error)) ?? new ConnectError("no replica answered", Code.Unavailable)));
        } else answer();
      }
      report();
      short?.(ok.length >= target);
      settle();
    };

    const report = () => {
      if (refused.length > 0 && ok.length > 0) {
        gw.log.warn("insert acknowledged, but a replica refused its copy; the repair completes it", { id, stored: names(ok), refused: refused[0]!.rawMessage });
      } else if (lost.length > 0 && ok.length > 0) {
        const fewer = ok.length < target;
        gw.log[fewer ? "warn" : "info"](fewer ? "insert stored on fewer replicas than asked; the repair completes it" : "slow or lost replicas replaced during insert", {
          id,
          stored: names(ok),
          lost: names(lost),
          ms: Math.round(performance.now() - started),
        });
      }
    };

    for (const a of first) {
      tried.add(a);
      launch(a);
    }
    if (first.length === 0) step();
  });
}

async function rollback(gw: Gateway, rpc: string, id: string, agents: readonly AgentHandle[]): Promise<void> {
  if (agents.length === 0) return;
  const s = split(await fanOut(gw, agents, "Remove", { timeoutMs: 5000 }, (a, o) => a.clients.remove.remove({ id: { id } }, o)));
  for (const o of s.ok) o.agent.adjustStored(-1);
  if (s.failed.length > 0 || s.lost.length > 0) {
    gw.log.warn("could not roll back a partial insert", { rpc, id, agents: names([...s.failed, ...s.lost]) });
  }
}
