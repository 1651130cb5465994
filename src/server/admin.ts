// alvd.cluster.v1.Admin on the server's gateway port: membership and repair state, what
// each agent runs on, recent rates, and draining an agent. A client of the repair like
// any other: it marks the agent draining (on the agent, so every server sees it), lets
// the repair move the copies, and reports what the agent still holds until it holds nothing.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type ServiceImpl } from "@connectrpc/connect";
import {
  AccessInfoSchema,
  Admin,
  AgentInfoSchema,
  AgentListSchema,
  ClusterStatusSchema,
  DrainProgressSchema,
  Member_State,
  MemberSchema,
  RecentRatesSchema,
  ServerSchema,
  type DrainProgress,
} from "../gen/alvd/cluster/v1/admin_pb";
import type { AgentPool } from "../gateway/agents";
import type { ApiKeys } from "../security/api-keys";
import type { TunnelStats } from "../tunnel/mux";
import { commit, version } from "../version";
import type { Healer } from "./heal/healer";
import type { Membership, MemberState } from "./heal/membership";
import { sleep } from "./heal/pace";
import { WINDOW_MS, type RateHistory } from "./rates";

const STATE: Record<MemberState, Member_State> = { connected: Member_State.CONNECTED, away: Member_State.AWAY, lost: Member_State.LOST };
const PROGRESS_EVERY_MS = 1000;
/** an agent answers Replica/State within this, or is listed without its own figures */
const AGENT_STATE_TIMEOUT_MS = 2000;

export interface AdminDeps {
  pool: AgentPool;
  membership: Membership;
  healer: Healer;
  rates: RateHistory;
  /** the tunnel of a remote agent; undefined for the embedded one */
  link(name: string): { remoteAddress: string; connectedAt: Date; stats(): TunnelStats } | undefined;
  /** ms since the epoch */
  startedMs: number;
  /** the gateway port's client keys */
  keys: ApiKeys;
}

/** a write any read-write key may make; a key refused it is read-only */
const A_WRITE = "/vald.v1.Insert/Insert";

export function adminService(deps: AdminDeps): ServiceImpl<typeof Admin> {
  const { pool, membership, healer } = deps;
  const server = () => create(ServerSchema, { version, commit, startedMs: BigInt(deps.startedMs), nowMs: BigInt(Date.now()) });
  return {
    status: () => {
      const s = healer.status();
      const members = membership.list().map((m) => {
        const handle = pool.get(m.name);
        return create(MemberSchema, {
          name: m.name,
          state: STATE[m.state],
          firstSeenMs: BigInt(m.firstSeen),
          lastSeenMs: BigInt(m.lastSeen),
          draining: handle?.draining() ?? false,
          stored: BigInt(handle?.stored() ?? 0),
        });
      });
      return create(ClusterStatusSchema, {
        members,
        underreplicatedIds: BigInt(s.underreplicated),
        overreplicatedIds: BigInt(s.overreplicated),
        staleCopies: BigInt(s.stale),
        repairedVectorsTotal: BigInt(s.repaired),
        movedVectorsTotal: BigInt(s.moved),
        trimmedCopiesTotal: BigInt(s.trimmed),
        passes: BigInt(s.passes),
        repairing: s.repairing,
        leaseHeld: s.leaseHeld,
        lastPassMs: BigInt(s.lastPassMs),
        targetReplicas: s.target,
        underreplicatedSample: s.underSample,
        server: server(),
      });
    },

    agents: async (_req, ctx) => {
      const agents = await Promise.all(
        pool.list().map(async (a) => {
          const link = deps.link(a.name);
          const stats = link?.stats();
          const own = await a.clients.replica.state({}, { signal: ctx.signal, timeoutMs: AGENT_STATE_TIMEOUT_MS }).then(
            (s) => ({ draining: s.draining, stored: s.stored, startedMs: s.startedMs, isa: s.isa, simd: s.simd, indexMemoryBytes: s.indexMemoryBytes, rssBytes: s.rssBytes, version: s.version }),
            (e: unknown) => ({ draining: a.draining(), stored: BigInt(a.stored()), error: ConnectError.from(e).rawMessage }),
          );
          return create(AgentInfoSchema, {
            name: a.name,
            address: link?.remoteAddress ?? "in-process",
            embedded: link === undefined,
            connectedMs: BigInt(link?.connectedAt.getTime() ?? deps.startedMs),
            lastHeardMs: BigInt(stats?.lastHeardMs ?? 0),
            rttMs: stats?.rttMs ?? 0,
            ...own,
          });
        }),
      );
      return create(AgentListSchema, { agents, nowMs: BigInt(Date.now()) });
    },

    access: (_req, ctx) => {
      const open = deps.keys.open;
      return create(AccessInfoSchema, { keysRequired: !open, mayWrite: open || deps.keys.refusal(A_WRITE, ctx.requestHeader) === undefined });
    },

    rates: (req) => create(RecentRatesSchema, { windowSeconds: WINDOW_MS / 1000, windows: deps.rates.since(Number(req.sinceMs)) }),

    async *drain(req, ctx) {
      const name = req.name;
      if (!name) throw new ConnectError("name: the agent to drain is required", Code.InvalidArgument);
      const agent = pool.get(name);
      if (agent === undefined) {
        const known = pool.list().map((a) => a.name).join(", ") || "none";
        throw new ConnectError(`agent ${JSON.stringify(name)} is not connected to this server (connected: ${known})`, Code.NotFound);
      }
      const progress = (remaining: number, done: boolean, message: string): DrainProgress => create(DrainProgressSchema, { name, remaining: BigInt(remaining), done, message });
      if (req.cancel) {
        await healer.setDraining(name, false);
        yield progress(agent.stored(), true, "drain cancelled: the agent takes new vectors again");
        return;
      }
      const others = pool.list().filter((a) => a.name !== name && !a.draining());
      if (others.length === 0) {
        throw new ConnectError(`cannot drain ${JSON.stringify(name)}: no other agent would take its vectors`, Code.FailedPrecondition);
      }
      await healer.setDraining(name, true);
      let first = true;
      for (;;) {
        if (pool.get(name) !== agent) {
          throw new ConnectError(`agent ${JSON.stringify(name)} disconnected during the drain; run the drain again once it is back`, Code.Unavailable);
        }
        const s = await agent.clients.replica.state({}, { signal: ctx.signal, timeoutMs: 5000 });
        const left = Number(s.stored);
        if (left === 0) {
          yield progress(0, true, "drained: the agent holds no vectors and takes no new ones; it can be stopped and removed");
          return;
        }
        const message = first
          ? `draining: ${left} vectors to move to ${others.length} other agent${others.length === 1 ? "" : "s"}`
          : `draining: ${left} vectors left`;
        first = false;
        yield progress(left, false, message);
        await sleep(PROGRESS_EVERY_MS, ctx.signal);
        if (ctx.signal.aborted) return;
      }
    },
  };
}

export function adminRoutes(deps: AdminDeps): (router: ConnectRouter) => void {
  return (router) => {
    router.service(Admin, adminService(deps));
  };
}
