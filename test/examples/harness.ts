// A server started with a config file, from the sources or as the compiled binary, and
// the official Vald Node client (vald-client-node, grpc-js) calls the examples need:
// filter targets, timestamps, the Filter service, per-item stream statuses.
import * as grpc from "@grpc/grpc-js";
import vald from "vald-client-node";
import { freePorts } from "../lib/ports";
import { BUN, MAIN, ROOT } from "../lib/process";

const { v1_vald: rpc, v1_payload } = vald;
const payload = v1_payload.payload;

export interface Server {
  grpcPort: number;
  metricsPort: number;
  /** stdout and stderr so far (hooks' console.log goes to stdout) */
  output(): string;
  pid: number;
  signal(sig: NodeJS.Signals): void;
  stop(): Promise<void>;
}

/** `cmd`: the binary (default: bun src/main.ts); `cwd`/`env` for running it away from the repo. */
export async function startServer(config: string | undefined, extra: string[], opts: { cmd?: string[]; cwd?: string; env?: Record<string, string> } = {}): Promise<Server> {
  const [grpcPort, wsPort, metricsPort, agentPort] = await freePorts(4);
  const args = [
    "server",
    ...(config !== undefined ? ["--config", config] : []),
    "--server-grpc-host=127.0.0.1",
    `--server-grpc-port=${grpcPort}`,
    `--server=127.0.0.1:${wsPort}`,
    "--metrics-host=127.0.0.1",
    `--metrics-port=${metricsPort}`,
    "--grpc-host=127.0.0.1",
    `--grpc-port=${agentPort}`,
    "--replicas=1",
    ...extra,
  ];
  const proc = Bun.spawn([...(opts.cmd ?? [BUN, MAIN]), ...args], {
    cwd: opts.cwd ?? ROOT,
    env: opts.env ?? { ...process.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  const dec = new TextDecoder();
  for (const s of [proc.stdout, proc.stderr]) void (async () => { for await (const c of s) out += dec.decode(c); })();
  const server: Server = {
    grpcPort: grpcPort!,
    metricsPort: metricsPort!,
    output: () => out,
    pid: proc.pid,
    signal: (sig) => proc.kill(sig),
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      await proc.exited;
      clearTimeout(t);
    },
  };
  const end = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}:\n${out}`);
    const ok = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then((r) => r.status === 200, () => false);
    if (ok) return server;
    if (Date.now() > end) {
      await server.stop();
      throw new Error(`server not ready:\n${out}`);
    }
    await Bun.sleep(50);
  }
}

/** Polls until `check` holds (bounded); throws with `what` otherwise. */
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await Bun.sleep(50);
  }
  throw new Error(`timed out: ${what}`);
}

export type GrpcError = grpc.ServiceError;
const deadline = () => ({ deadline: Date.now() + 10_000 });
const done = <T>(resolve: (v: T) => void, reject: (e: unknown) => void, map: (r: never) => T) => (err: grpc.ServiceError | null, res?: unknown) =>
  err ? reject(err) : resolve(map(res as never));

function target(host: string) {
  const t = new payload.Filter.Target();
  t.setHost(host);
  const c = new payload.Filter.Config();
  c.setTargetsList([t]);
  return c;
}

function vectorOf(id: string, vector: number[]) {
  const v = new payload.Object.Vector();
  v.setId(id);
  v.setVectorList(vector);
  return v;
}

export interface Hit {
  id: string;
  distance: number;
}
type SearchResponse = InstanceType<typeof payload.Search.Response>;
const hits = (r: SearchResponse): Hit[] => r.getResultsList().map((d) => ({ id: d.getId(), distance: d.getDistance() }));

export interface InsertOptions {
  /** Insert.Config.filters.targets[0].host */
  filterHost?: string;
}

export interface SearchOptions {
  egressHost?: string;
  ingressHost?: string;
  requestId?: string;
}

export function client(port: number) {
  const addr = `127.0.0.1:${port}`;
  const creds = grpc.credentials.createInsecure();
  const c = {
    insert: new rpc.insert_grpc.InsertClient(addr, creds),
    search: new rpc.search_grpc.SearchClient(addr, creds),
    object: new rpc.object_grpc.ObjectClient(addr, creds),
    remove: new rpc.remove_grpc.RemoveClient(addr, creds),
    update: new rpc.update_grpc.UpdateClient(addr, creds),
    upsert: new rpc.upsert_grpc.UpsertClient(addr, creds),
    filter: new rpc.filter_grpc.FilterClient(addr, creds),
  };
  const searchConfig = (num: number, o: SearchOptions) => {
    const cfg = new payload.Search.Config();
    cfg.setNum(num);
    cfg.setRadius(-1);
    cfg.setTimeout(3_000_000_000);
    if (o.requestId !== undefined) cfg.setRequestId(o.requestId);
    if (o.egressHost !== undefined) cfg.setEgressFilters(target(o.egressHost));
    if (o.ingressHost !== undefined) cfg.setIngressFilters(target(o.ingressHost));
    return cfg;
  };
  const insertConfig = (o: InsertOptions) => {
    const cfg = new payload.Insert.Config();
    if (o.filterHost !== undefined) cfg.setFilters(target(o.filterHost));
    return cfg;
  };
  return {
    close: () => Object.values(c).forEach((x) => x.close()),

    insert: (id: string, vector: number[], o: InsertOptions = {}) =>
      new Promise<string>((resolve, reject) => {
        const req = new payload.Insert.Request();
        req.setVector(vectorOf(id, vector));
        req.setConfig(insertConfig(o));
        c.insert.insert(req, deadline(), done(resolve, reject, (r: InstanceType<typeof payload.Object.Location>) => r.getUuid()));
      }),

    multiInsert: (items: { id: string; vector: number[] }[]) =>
      new Promise<string[]>((resolve, reject) => {
        const m = new payload.Insert.MultiRequest();
        m.setRequestsList(
          items.map((it) => {
            const r = new payload.Insert.Request();
            r.setVector(vectorOf(it.id, it.vector));
            r.setConfig(new payload.Insert.Config());
            return r;
          }),
        );
        c.insert.multiInsert(m, deadline(), done(resolve, reject, (r: InstanceType<typeof payload.Object.Locations>) => r.getLocationsList().map((l) => l.getUuid())));
      }),

    /** per item: 0 = OK, else the status code and message of that item */
    streamInsert: (items: { id: string; vector: number[] }[]) =>
      new Promise<{ code: number; message: string }[]>((resolve, reject) => {
        const out: { code: number; message: string }[] = [];
        const ch = c.insert.streamInsert();
        ch.on("data", (m: InstanceType<typeof payload.Object.StreamLocation>) =>
          out.push(m.hasStatus() ? { code: m.getStatus()!.getCode(), message: m.getStatus()!.getMessage() } : { code: 0, message: m.getLocation()!.getUuid() }),
        );
        ch.on("end", () => resolve(out));
        ch.on("error", reject);
        for (const it of items) {
          const r = new payload.Insert.Request();
          r.setVector(vectorOf(it.id, it.vector));
          r.setConfig(new payload.Insert.Config());
          ch.write(r);
        }
        ch.end();
      }),

    update: (id: string, vector: number[]) =>
      new Promise<string>((resolve, reject) => {
        const req = new payload.Update.Request();
        req.setVector(vectorOf(id, vector));
        req.setConfig(new payload.Update.Config());
        c.update.update(req, deadline(), done(resolve, reject, (r: InstanceType<typeof payload.Object.Location>) => r.getUuid()));
      }),

    upsert: (id: string, vector: number[]) =>
      new Promise<string>((resolve, reject) => {
        const req = new payload.Upsert.Request();
        req.setVector(vectorOf(id, vector));
        req.setConfig(new payload.Upsert.Config());
        c.upsert.upsert(req, deadline(), done(resolve, reject, (r: InstanceType<typeof payload.Object.Location>) => r.getUuid()));
      }),

    remove: (id: string) =>
      new Promise<string>((resolve, reject) => {
        const oid = new payload.Object.ID();
        oid.setId(id);
        const req = new payload.Remove.Request();
        req.setId(oid);
        req.setConfig(new payload.Remove.Config());
        c.remove.remove(req, deadline(), done(resolve, reject, (r: InstanceType<typeof payload.Object.Location>) => r.getUuid()));
      }),

    search: (vector: number[], num: number, o: SearchOptions = {}) =>
      new Promise<Hit[]>((resolve, reject) => {
        const req = new payload.Search.Request();
        req.setVectorList(vector);
        req.setConfig(searchConfig(num, o));
        c.search.search(req, deadline(), done(resolve, reject, hits));
      }),

    searchById: (id: string, num: number) =>
      new Promise<Hit[]>((resolve, reject) => {
        const req = new payload.Search.IDRequest();
        req.setId(id);
        req.setConfig(searchConfig(num, {}));
        c.search.searchByID(req, deadline(), done(resolve, reject, hits));
      }),

    linearSearch: (vector: number[], num: number) =>
      new Promise<Hit[]>((resolve, reject) => {
        const req = new payload.Search.Request();
        req.setVectorList(vector);
        req.setConfig(searchConfig(num, {}));
        c.search.linearSearch(req, deadline(), done(resolve, reject, hits));
      }),

    multiSearch: (vectors: number[][], num: number) =>
      new Promise<Hit[][]>((resolve, reject) => {
        const m = new payload.Search.MultiRequest();
        m.setRequestsList(
          vectors.map((v) => {
            const r = new payload.Search.Request();
            r.setVectorList(v);
            r.setConfig(searchConfig(num, {}));
            return r;
          }),
        );
        c.search.multiSearch(m, deadline(), done(resolve, reject, (r: InstanceType<typeof payload.Search.Responses>) => r.getResponsesList().map(hits)));
      }),

    streamSearch: (vectors: number[][], num: number) =>
      new Promise<(Hit[] | { code: number; message: string })[]>((resolve, reject) => {
        const out: (Hit[] | { code: number; message: string })[] = [];
        const ch = c.search.streamSearch();
        ch.on("data", (m: InstanceType<typeof payload.Search.StreamResponse>) =>
          out.push(m.hasStatus() ? { code: m.getStatus()!.getCode(), message: m.getStatus()!.getMessage() } : hits(m.getResponse()!)),
        );
        ch.on("end", () => resolve(out));
        ch.on("error", reject);
        for (const v of vectors) {
          const r = new payload.Search.Request();
          r.setVectorList(v);
          r.setConfig(searchConfig(num, {}));
          ch.write(r);
        }
        ch.end();
      }),

    exists: (id: string) =>
      new Promise<boolean>((resolve, reject) => {
        const oid = new payload.Object.ID();
        oid.setId(id);
        c.object.exists(oid, deadline(), (err) => (!err ? resolve(true) : err.code === grpc.status.NOT_FOUND ? resolve(false) : reject(err)));
      }),

    getObject: (id: string) =>
      new Promise<number[]>((resolve, reject) => {
        const oid = new payload.Object.ID();
        oid.setId(id);
        const req = new payload.Object.VectorRequest();
        req.setId(oid);
        c.object.getObject(req, deadline(), done(resolve, reject, (r: InstanceType<typeof payload.Object.Vector>) => r.getVectorList()));
      }),

    insertObject: (id: string, object: Uint8Array, vectorizerHost?: string) =>
      new Promise<string>((resolve, reject) => {
        const blob = new payload.Object.Blob();
        blob.setId(id);
        blob.setObject(object);
        const req = new payload.Insert.ObjectRequest();
        req.setObject(blob);
        req.setConfig(new payload.Insert.Config());
        if (vectorizerHost !== undefined) {
          const t = new payload.Filter.Target();
          t.setHost(vectorizerHost);
          req.setVectorizer(t);
        }
        c.filter.insertObject(req, deadline(), done(resolve, reject, (r: InstanceType<typeof payload.Object.Location>) => r.getUuid()));
      }),

    searchObject: (object: Uint8Array, num: number) =>
      new Promise<Hit[]>((resolve, reject) => {
        const req = new payload.Search.ObjectRequest();
        req.setObject(object);
        req.setConfig(searchConfig(num, {}));
        c.filter.searchObject(req, deadline(), done(resolve, reject, hits));
      }),
  };
}

export type Client = ReturnType<typeof client>;

/** the gRPC status of a rejected call */
export async function failure(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as GrpcError;
    if (typeof err.code === "number") return { code: err.code, details: err.details };
    throw e;
  }
  throw new Error("the call succeeded");
}

export const status = grpc.status;
