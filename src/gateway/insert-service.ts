// vald.v1.Insert as a service: unary and Stream* through insert.ts, Multi* through
// multi-insert.ts (which builds on insert.ts, so the service lives apart from both).
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { Object_LocationsSchema, Object_StreamLocationSchema } from "../gen/payload/v1/payload_pb";
import type { Insert } from "../gen/vald/v1/insert_pb";
import { scopeOf, streamEach } from "./batch";
import type { Gateway } from "./context";
import { insertOne } from "./insert";
import { multiInsert } from "./multi-insert";

export function insertService(gw: Gateway): ServiceImpl<typeof Insert> {
  return {
    insert: (req, ctx) => insertOne(gw, "Insert", req, scopeOf(ctx)),
    multiInsert: async (req, ctx) => create(Object_LocationsSchema, { locations: await multiInsert(gw, "MultiInsert", req.requests, scopeOf(ctx)) }),
    streamInsert: (reqs, ctx) =>
      streamEach(
        gw,
        reqs,
        (r) => insertOne(gw, "StreamInsert", r, scopeOf(ctx)),
        (location) => create(Object_StreamLocationSchema, { payload: { case: "location", value: location } }),
        (status) => create(Object_StreamLocationSchema, { payload: { case: "status", value: status } }),
        (r) => r.vector?.id,
      ),
  };
}
