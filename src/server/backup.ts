// alvd.cluster.v1.Backup on the server's gateway port: `alvd backup` and `alvd restore`
// address one agent by name and the server carries the call over that agent's tunnel
// (or in-process to the embedded agent) to its Snapshot service. The client drives the
// order (which agent, which file); the server checks the agent is there, passes streams
// through chunk by chunk (no file is held here), and logs what happened.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type ServiceImpl } from "@connectrpc/connect";
import { Backup, BackupAgentsSchema, type AgentInstallPart, type InstallPart } from "../gen/alvd/cluster/v1/backup_pb";
import type { AgentHandle, AgentPool } from "../gateway/agents";
import type { Logger } from "../observe/log";

const DESCRIBE_TIMEOUT_MS = 5000;

export interface BackupDeps {
  pool: AgentPool;
  log: Logger;
}

export function backupService(deps: BackupDeps): ServiceImpl<typeof Backup> {
  const { pool } = deps;
  const log = deps.log.with({ component: "backup" });
  const agentOf = (name: string): AgentHandle => {
    if (!name) throw new ConnectError("agent: the agent's name is required", Code.InvalidArgument);
    const a = pool.get(name);
    if (a) return a;
    const known = pool.list().map((x) => x.name).join(", ") || "none";
    throw new ConnectError(`agent ${JSON.stringify(name)} is not connected to this server (connected: ${known})`, Code.NotFound);
  };
  return {
    agents: async (_req, ctx) => {
      const agents = await Promise.all(
        pool.list().map((a) =>
          a.clients.snapshot.describe({}, { signal: ctx.signal, timeoutMs: DESCRIBE_TIMEOUT_MS }).catch((e: unknown) => {
            const err = ConnectError.from(e);
            throw new ConnectError(`agent ${a.name} did not describe itself: ${err.rawMessage}`, err.code === Code.Unimplemented ? Code.FailedPrecondition : Code.Unavailable);
          }),
        ),
      );
      return create(BackupAgentsSchema, { agents });
    },

    begin: async (req, ctx) => {
      const a = agentOf(req.agent);
      const c = await a.clients.snapshot.begin(req.request ?? {}, { signal: ctx.signal });
      log.info(req.request?.incremental ? "incremental backup of an agent started" : "backup of an agent started", {
        agent: a.name,
        generation: Number(c.generation),
        walSeq: Number(c.walSeq),
        files: c.files.length,
        bytes: c.files.reduce((n, f) => n + Number(f.bytes), 0),
        records: Number(c.logRecords),
      });
      return c;
    },

    async *readFile(req, ctx) {
      yield* agentOf(req.agent).clients.snapshot.readFile(req.request ?? {}, { signal: ctx.signal });
    },

    async *readLog(req, ctx) {
      yield* agentOf(req.agent).clients.snapshot.readLog(req.request ?? {}, { signal: ctx.signal });
    },

    end: async (req, ctx) => {
      const a = agentOf(req.agent);
      const r = await a.clients.snapshot.end(req.request ?? {}, { signal: ctx.signal });
      log.info(req.request?.keepLog ? "backup of an agent written; its log is kept from there for the next incremental backup" : "backup of an agent abandoned", { agent: a.name });
      return r;
    },

    install: async (parts, ctx) => {
      const it = parts[Symbol.asyncIterator]();
      const first = await it.next();
      if (first.done) throw new ConnectError("an install stream needs at least one part naming the agent", Code.InvalidArgument);
      const a = agentOf(first.value.agent);
      async function* forward(): AsyncGenerator<InstallPart> {
        let p: IteratorResult<AgentInstallPart> = first;
        while (!p.done) {
          if (p.value.agent && p.value.agent !== a.name) throw new ConnectError(`one install stream is for one agent (${a.name}, then ${p.value.agent})`, Code.InvalidArgument);
          if (p.value.part) yield p.value.part;
          p = await it.next();
        }
      }
      log.info("restore: installing a snapshot into an agent", { agent: a.name });
      const done = await a.clients.snapshot.install(forward(), { signal: ctx.signal });
      a.setStored(Number(done.stored));
      log.info("restore: snapshot installed", { agent: a.name, stored: Number(done.stored), generation: Number(done.generation) });
      return done;
    },
  };
}

export function backupRoutes(deps: BackupDeps): (router: ConnectRouter) => void {
  return (router) => {
    router.service(Backup, backupService(deps));
  };
}
