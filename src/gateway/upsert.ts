// vald.v1.Upsert: update where the id lives, otherwise insert on fresh replicas.
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  Insert_RequestSchema,
  Object_LocationsSchema,
  Object_StreamLocationSchema,
  Update_RequestSchema,
  type Object_Location,
  type Object_Vector,
  type Upsert_Request,
} from "../gen/payload/v1/payload_pb";
import type { Upsert } from "../gen/vald/v1/upsert_pb";
import { multi, scopeOf, streamEach } from "./batch";
import type { Gateway } from "./context";
import type { CallScope } from "./fanout";
import { writeHolders } from "./holders";
import { holdingUntilSettled, insertHeld, type Placed } from "./insert";
import { replicaLocation } from "./location";
import { stamp } from "./timestamp";
import { checkVector } from "./validate";

/**
 * The update broadcast doubles as the existence check: when every agent answers
 * NotFound the id is absent, and the insert skips a second check.
 */
export async function upsertOne(gw: Gateway, rpc: string, given: Upsert_Request, scope: CallScope): Promise<Object_Location> {
  checkVector(rpc, given.vector, gw.limits);
  const hook = gw.hooks.upsert;
  const req = hook === undefined ? given : await hook(rpc, given);
  const vec = req.vector!;
  return holdingUntilSettled(gw, vec.id, () => upsertHeld(gw, rpc, req, vec, scope));
}

async function upsertHeld(gw: Gateway, rpc: string, req: Upsert_Request, vec: Object_Vector, scope: CallScope): Promise<Placed> {
  const timestamp = stamp(req.config?.timestamp);
  const updateReq = create(Update_RequestSchema, {
    vector: vec,
    config: { skipStrictExistCheck: req.config?.skipStrictExistCheck ?? false, filters: req.config?.filters, timestamp, disableBalancedUpdate: true },
  });
  const s = await writeHolders(gw, rpc, vec.id, scope, (a, o) => a.clients.update.update(updateReq, o));
  if (s !== undefined) return { location: replicaLocation(vec.id, s.ok), settled: Promise.resolve() };
  const insertReq = create(Insert_RequestSchema, { vector: vec, config: { skipStrictExistCheck: true, filters: req.config?.filters, timestamp } });
  return insertHeld(gw, rpc, insertReq, vec, scope);
}

export function upsertService(gw: Gateway): ServiceImpl<typeof Upsert> {
  return {
    upsert: (req, ctx) => upsertOne(gw, "Upsert", req, scopeOf(ctx)),
    multiUpsert: async (req, ctx) =>
      create(Object_LocationsSchema, { locations: await multi(gw, "MultiUpsert", req.requests, (r) => upsertOne(gw, "MultiUpsert", r, scopeOf(ctx)), (r) => r.vector?.id) }),
    streamUpsert: (reqs, ctx) =>
      streamEach(
        gw,
        reqs,
        (r) => upsertOne(gw, "StreamUpsert", r, scopeOf(ctx)),
        (location) => create(Object_StreamLocationSchema, { payload: { case: "location", value: location } }),
        (status) => create(Object_StreamLocationSchema, { payload: { case: "status", value: status } }),
        (r) => r.vector?.id,
      ),
  };
}
