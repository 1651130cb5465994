// The few Vald calls the dist tests make, through the official client (vald-client-node
// on grpc-js): the way users reach a released binary.
import * as grpc from "@grpc/grpc-js";
import vald from "vald-client-node";

const { v1_vald: rpc, v1_payload } = vald;
const payload = v1_payload.payload;

export interface Vald {
  insert(id: string, vector: number[]): Promise<void>;
  search(vector: number[], num: number): Promise<{ id: string; distance: number }[]>;
  exists(id: string): Promise<boolean>;
  close(): void;
}

const deadline = () => ({ deadline: Date.now() + 10_000 });

export function valdClient(addr: string): Vald {
  const creds = grpc.credentials.createInsecure();
  const insert = new rpc.insert_grpc.InsertClient(addr, creds);
  const search = new rpc.search_grpc.SearchClient(addr, creds);
  const object = new rpc.object_grpc.ObjectClient(addr, creds);
  return {
    insert: (id, vector) =>
      new Promise((resolve, reject) => {
        const vec = new payload.Object.Vector();
        vec.setId(id);
        vec.setVectorList(vector);
        const req = new payload.Insert.Request();
        req.setVector(vec);
        req.setConfig(new payload.Insert.Config());
        insert.insert(req, deadline(), (err) => (err ? reject(err) : resolve()));
      }),
    search: (vector, num) =>
      new Promise((resolve, reject) => {
        const cfg = new payload.Search.Config();
        cfg.setNum(num);
        cfg.setRadius(-1);
        cfg.setEpsilon(0.1);
        cfg.setTimeout(3_000_000_000);
        const req = new payload.Search.Request();
        req.setVectorList(vector);
        req.setConfig(cfg);
        search.search(req, deadline(), (err, res) =>
          err ? reject(err) : resolve(res!.getResultsList().map((d) => ({ id: d.getId(), distance: d.getDistance() }))),
        );
      }),
    exists: (id) =>
      new Promise((resolve, reject) => {
        const oid = new payload.Object.ID();
        oid.setId(id);
        object.exists(oid, deadline(), (err) => {
          if (!err) return resolve(true);
          if (err.code === grpc.status.NOT_FOUND) return resolve(false);
          reject(err);
        });
      }),
    close: () => {
      insert.close();
      search.close();
      object.close();
    },
  };
}
