// vald.v1.Remove: delete an id from every replica holding it.
import { create } from "@bufbuild/protobuf";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import {
  Object_LocationsSchema,
  Object_StreamLocationSchema,
  type Object_Location,
  type Object_Locations,
  type Remove_Request,
  type Remove_TimestampRequest,
} from "../gen/payload/v1/payload_pb";
import type { Remove } from "../gen/vald/v1/remove_pb";
import { multi, scopeOf, streamEach } from "./batch";
import type { Gateway } from "./context";
import { gatewayError } from "./errors";
import type { CallScope } from "./fanout";
import { answering, notFound, writeHolders } from "./holders";
import { withIds } from "./id-locks";
import { mergeLocations, replicaLocation } from "./location";
import { checkId } from "./validate";

export async function removeOne(gw: Gateway, rpc: string, given: Remove_Request, scope: CallScope): Promise<Object_Location> {
  checkId(rpc, given.id?.id, gw.limits);
  const hook = gw.hooks.remove;
  const req = hook === undefined ? given : await hook(rpc, given);
  const id = req.id!.id;
  return withIds(gw.locks, [id], async () => {
    const w = answering((a, o) => a.clients.remove.remove(req, o));
    const s = await writeHolders(gw, rpc, id, scope, w.call);
    // Also when no agent held it: the one holding it may be away.
    gw.tombstones.removed([id], w.answered, w.everyone());
    if (s === undefined) throw notFound(rpc, id);
    for (const o of s.ok) o.agent.adjustStored(-1);
    return replicaLocation(id, s.ok);
  });
}

/** Every agent removes its matching vectors; NotFound when nothing matched anywhere. */
export async function removeByTimestamp(gw: Gateway, req: Remove_TimestampRequest, scope: CallScope): Promise<Object_Locations> {
  // Which ids match is only known on the agents, so the repair pauses for all of them.
  const release = await gw.locks.acquireAll();
  let s;
  const w = answering((a, o) => a.clients.remove.removeByTimestamp(req, o));
  try {
    s = await writeHolders(gw, "RemoveByTimestamp", "", scope, w.call);
  } finally {
    release();
  }
  gw.tombstones.removedWhere(req.timestamps, w.answered, w.everyone());
  const lists = (s?.ok ?? []).map((o) => ({ agent: o.agent, locations: o.value.locations }));
  for (const l of lists) l.agent.adjustStored(-l.locations.length);
  const locations = mergeLocations(lists);
  if (locations.length === 0) {
    throw gatewayError(Code.NotFound, "RemoveByTimestamp: no vector matched", { rpc: "RemoveByTimestamp", reason: "NOT_FOUND" });
  }
  return create(Object_LocationsSchema, { locations });
}

export function removeService(gw: Gateway): ServiceImpl<typeof Remove> {
  return {
    remove: (req, ctx) => removeOne(gw, "Remove", req, scopeOf(ctx)),
    removeByTimestamp: (req, ctx) => removeByTimestamp(gw, req, scopeOf(ctx)),
    multiRemove: async (req, ctx) =>
      create(Object_LocationsSchema, { locations: await multi(gw, "MultiRemove", req.requests, (r) => removeOne(gw, "MultiRemove", r, scopeOf(ctx)), (r) => r.id?.id) }),
    streamRemove: (reqs, ctx) =>
      streamEach(
        gw,
        reqs,
        (r) => removeOne(gw, "StreamRemove", r, scopeOf(ctx)),
        (location) => create(Object_StreamLocationSchema, { payload: { case: "location", value: location } }),
        (status) => create(Object_StreamLocationSchema, { payload: { case: "status", value: status } }),
        (r) => r.id?.id,
      ),
  };
}
