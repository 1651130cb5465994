// The official Vald Node client (vald-client-node, grpc-js), as users call alvd.
import * as grpc from "@grpc/grpc-js";
import vald from "vald-client-node";

const { v1_vald: rpc, v1_payload } = vald;
const payload = v1_payload.payload;

export interface ValdClients {
  insert: InstanceType<typeof rpc.insert_grpc.InsertClient>;
  search: InstanceType<typeof rpc.search_grpc.SearchClient>;
  object: InstanceType<typeof rpc.object_grpc.ObjectClient>;
  remove: InstanceType<typeof rpc.remove_grpc.RemoveClient>;
  close(): void;
}

export interface ValdClientOptions {
  /** default: plain text */
  creds?: grpc.ChannelCredentials;
  /** sent as "authorization: Bearer <key>" call metadata, as a user adds it */
  apiKey?: string;
}

/** A grpc-js client interceptor that puts the API key in every call's metadata. */
export function apiKeyInterceptor(key: string): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set("authorization", `Bearer ${key}`);
        next(metadata, listener);
      },
    });
}

export function valdClients(addr: string, opts: ValdClientOptions = {}): ValdClients {
  const creds = opts.creds ?? grpc.credentials.createInsecure();
  const o = opts.apiKey ? { interceptors: [apiKeyInterceptor(opts.apiKey)] } : {};
  const c = {
    insert: new rpc.insert_grpc.InsertClient(addr, creds, o),
    search: new rpc.search_grpc.SearchClient(addr, creds, o),
    object: new rpc.object_grpc.ObjectClient(addr, creds, o),
    remove: new rpc.remove_grpc.RemoveClient(addr, creds, o),
  };
  return { ...c, close: () => Object.values(c).forEach((x) => x.close()) };
}

/** StreamInsert every vector; resolves with the per-item status codes (0 = OK). */
export function streamInsert(c: ValdClients, items: { id: string; vector: number[] }[]): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const codes: number[] = [];
    const ch = c.insert.streamInsert();
    ch.on("data", (m: InstanceType<typeof payload.Object.StreamLocation>) => {
      codes.push(m.hasStatus() ? m.getStatus()!.getCode() : 0);
    });
    ch.on("end", () => resolve(codes));
    ch.on("error", reject);
    const cfg = new payload.Insert.Config();
    for (const it of items) {
      const vec = new payload.Object.Vector();
      vec.setId(it.id);
      vec.setVectorList(it.vector);
      const r = new payload.Insert.Request();
      r.setVector(vec);
      r.setConfig(cfg);
      ch.write(r);
    }
    ch.end();
  });
}

export function insert(c: ValdClients, id: string, vector: number[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const vec = new payload.Object.Vector();
    vec.setId(id);
    vec.setVectorList(vector);
    const req = new payload.Insert.Request();
    req.setVector(vec);
    req.setConfig(new payload.Insert.Config());
    c.insert.insert(req, { deadline: Date.now() + 10_000 }, (err) => (err ? reject(err) : resolve()));
  });
}

export function search(c: ValdClients, vector: number[], num: number): Promise<{ id: string; distance: number }[]> {
  return new Promise((resolve, reject) => {
    const cfg = new payload.Search.Config();
    cfg.setNum(num);
    cfg.setEpsilon(0.1);
    cfg.setRadius(-1);
    cfg.setTimeout(3_000_000_000);
    const req = new payload.Search.Request();
    req.setVectorList(vector);
    req.setConfig(cfg);
    c.search.search(req, { deadline: Date.now() + 10_000 }, (err, res) => {
      if (err) return reject(err);
      resolve(res!.getResultsList().map((d) => ({ id: d.getId(), distance: d.getDistance() })));
    });
  });
}

/** Exists → true, NOT_FOUND → false, anything else rejects. */
export function exists(c: ValdClients, id: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const oid = new payload.Object.ID();
    oid.setId(id);
    c.object.exists(oid, { deadline: Date.now() + 10_000 }, (err) => {
      if (!err) return resolve(true);
      if (err.code === grpc.status.NOT_FOUND) return resolve(false);
      reject(err);
    });
  });
}

export function getObject(c: ValdClients, id: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const oid = new payload.Object.ID();
    oid.setId(id);
    const req = new payload.Object.VectorRequest();
    req.setId(oid);
    c.object.getObject(req, { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res!.getVectorList())));
  });
}
