// vald.v1.Update: change a vector where it lives. Updates happen in place on every
// replica holding the id (Vald's disable_balanced_update behaviour, always): an
// update does not change how many vectors an agent stores, so moving it would not
// improve the balance placement already keeps.
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  Object_LocationsSchema,
  Object_StreamLocationSchema,
  Update_RequestSchema,
  type Object_Location,
  type Update_Request,
  type Update_TimestampRequest,
} from "../gen/payload/v1/payload_pb";
import type { Update } from "../gen/vald/v1/update_pb";
import { multi, scopeOf, streamEach } from "./batch";
import type { Gateway } from "./context";
import type { CallScope } from "./fanout";
import { writeHoldersLocation } from "./holders";
import { withIds } from "./id-locks";
import { stamp } from "./timestamp";
import { checkId, checkVector } from "./validate";

export async function updateOne(gw: Gateway, rpc: string, given: Update_Request, scope: CallScope): Promise<Object_Location> {
  checkVector(rpc, given.vector, gw.limits);
  const hook = gw.hooks.update;
  const req = hook === undefined ? given : await hook(rpc, given);
  const vec = req.vector!;
  const agentReq = create(Update_RequestSchema, {
    vector: vec,
    config: {
      skipStrictExistCheck: req.config?.skipStrictExistCheck ?? false,
      filters: req.config?.filters,
      timestamp: stamp(req.config?.timestamp),
      disableBalancedUpdate: true,
    },
  });
  return withIds(gw.locks, [vec.id], async () => (await writeHoldersLocation(gw, rpc, vec.id, scope, (a, o) => a.clients.update.update(agentReq, o))).location);
}

export async function updateTimestampOne(gw: Gateway, req: Update_TimestampRequest, scope: CallScope): Promise<Object_Location> {
  const id = checkId("UpdateTimestamp", req.id, gw.limits);
  return withIds(gw.locks, [id], async () => (await writeHoldersLocation(gw, "UpdateTimestamp", id, scope, (a, o) => a.clients.update.updateTimestamp(req, o))).location);
}

export function updateService(gw: Gateway): ServiceImpl<typeof Update> {
  return {
    update: (req, ctx) => updateOne(gw, "Update", req, scopeOf(ctx)),
    multiUpdate: async (req, ctx) =>
      create(Object_LocationsSchema, { locations: await multi(gw, "MultiUpdate", req.requests, (r) => updateOne(gw, "MultiUpdate", r, scopeOf(ctx)), (r) => r.vector?.id) }),
    streamUpdate: (reqs, ctx) =>
      streamEach(
        gw,
        reqs,
        (r) => updateOne(gw, "StreamUpdate", r, scopeOf(ctx)),
        (location) => create(Object_StreamLocationSchema, { payload: { case: "location", value: location } }),
        (status) => create(Object_StreamLocationSchema, { payload: { case: "status", value: status } }),
        (r) => r.vector?.id,
      ),
    updateTimestamp: (req, ctx) => updateTimestampOne(gw, req, scopeOf(ctx)),
  };
}
