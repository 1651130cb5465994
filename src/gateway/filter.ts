// vald.v1.Filter: objects (bytes) in, through the config file's `vectorizer`, then the
// ordinary Insert/Update/Upsert/Search paths, hooks included. Without a vectorizer every
// method is UNIMPLEMENTED and says how to add one.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  Insert_RequestSchema,
  Object_LocationsSchema,
  Object_StreamLocationSchema,
  Search_RequestSchema,
  Search_ResponsesSchema,
  Search_StreamResponseSchema,
  Update_RequestSchema,
  Upsert_RequestSchema,
  type Filter_Target,
  type Insert_ObjectRequest,
  type Object_Blob,
  type Object_Location,
  type Search_ObjectRequest,
  type Update_ObjectRequest,
  type Upsert_ObjectRequest,
} from "../gen/payload/v1/payload_pb";
import type { Status } from "../gen/google/rpc/status_pb";
import type { Filter } from "../gen/vald/v1/filter_pb";
import { multi, scopeOf, streamEach } from "./batch";
import { mapLimit } from "./concurrency";
import type { Gateway } from "./context";
import type { CallScope } from "./fanout";
import { insertOne } from "./insert";
import { multiInsert } from "./multi-insert";
import { searchOne } from "./search";
import { updateOne } from "./update";
import { upsertOne } from "./upsert";
import { checkBatch, checkId } from "./validate";

function noVectorizer(rpc: string): ConnectError {
  return new ConnectError(
    `Filter/${rpc}: no vectorizer is configured: add vectorizer(object, target) to the server section of an alvd.config.ts (--config) to turn objects into vectors, or send vectors with vald.v1.Insert/Search`,
    Code.Unimplemented,
  );
}

export function filterService(gw: Gateway): ServiceImpl<typeof Filter> {
  const vectorize = (rpc: string, object: Uint8Array, target: Filter_Target | undefined): Promise<number[]> => {
    const v = gw.hooks.vectorize;
    return v === undefined ? Promise.reject(noVectorizer(rpc)) : v(rpc, object, target);
  };
  /** a blob's id is checked before its bytes are vectorized (a client's mistake costs no vectorizer call) */
  const vectorOf = async (rpc: string, blob: Object_Blob | undefined, target: Filter_Target | undefined) => {
    if (gw.hooks.vectorize === undefined) throw noVectorizer(rpc);
    const id = checkId(rpc, blob?.id, gw.limits);
    return { id, vector: await vectorize(rpc, blob!.object, target) };
  };

  const insert = async (rpc: string, r: Insert_ObjectRequest, scope: CallScope): Promise<Object_Location> =>
    insertOne(gw, rpc, create(Insert_RequestSchema, { vector: await vectorOf(rpc, r.object, r.vectorizer), config: r.config }), scope);
  const update = async (rpc: string, r: Update_ObjectRequest, scope: CallScope): Promise<Object_Location> =>
    updateOne(gw, rpc, create(Update_RequestSchema, { vector: await vectorOf(rpc, r.object, r.vectorizer), config: r.config }), scope);
  const upsert = async (rpc: string, r: Upsert_ObjectRequest, scope: CallScope): Promise<Object_Location> =>
    upsertOne(gw, rpc, create(Upsert_RequestSchema, { vector: await vectorOf(rpc, r.object, r.vectorizer), config: r.config }), scope);
  const search = async (rpc: string, r: Search_ObjectRequest, scope: CallScope) =>
    searchOne(gw, "search", rpc, create(Search_RequestSchema, { vector: await vectorize(rpc, r.object, r.vectorizer), config: r.config }), scope);

  const location = (l: Object_Location) => create(Object_StreamLocationSchema, { payload: { case: "location", value: l } });
  const locationStatus = (status: Status) => create(Object_StreamLocationSchema, { payload: { case: "status", value: status } });
  const blobId = (r: { object?: Object_Blob }) => r.object?.id;
  /** without a vectorizer a stream fails before reading anything, so the client hears why at once */
  async function* open<T>(rpc: string, body: () => AsyncGenerator<T>): AsyncGenerator<T> {
    if (gw.hooks.vectorize === undefined) throw noVectorizer(rpc);
    yield* body();
  }

  return {
    insertObject: (req, ctx) => insert("InsertObject", req, scopeOf(ctx)),
    updateObject: (req, ctx) => update("UpdateObject", req, scopeOf(ctx)),
    upsertObject: (req, ctx) => upsert("UpsertObject", req, scopeOf(ctx)),
    searchObject: (req, ctx) => search("SearchObject", req, scopeOf(ctx)),

    // MultiInsertObject keeps MultiInsert's batching: vectorize every item, then one MultiInsert.
    multiInsertObject: async (req, ctx) => {
      const rpc = "MultiInsertObject";
      checkBatch(rpc, req.requests.length, gw.limits);
      const vectors = await mapLimit(req.requests, gw.multiConcurrency, (r, i) =>
        vectorOf(rpc, r.object, r.vectorizer).catch((e: unknown) => {
          const err = ConnectError.from(e);
          throw new ConnectError(`${rpc}: requests[${i}]: ${err.rawMessage.replace(`${rpc}: `, "")}`, err.code);
        }),
      );
      const reqs = req.requests.map((r, i) => create(Insert_RequestSchema, { vector: vectors[i], config: r.config }));
      return create(Object_LocationsSchema, { locations: await multiInsert(gw, rpc, reqs, scopeOf(ctx)) });
    },
    multiUpdateObject: async (req, ctx) =>
      create(Object_LocationsSchema, { locations: await multi(gw, "MultiUpdateObject", req.requests, (r) => update("MultiUpdateObject", r, scopeOf(ctx)), blobId) }),
    multiUpsertObject: async (req, ctx) =>
      create(Object_LocationsSchema, { locations: await multi(gw, "MultiUpsertObject", req.requests, (r) => upsert("MultiUpsertObject", r, scopeOf(ctx)), blobId) }),
    multiSearchObject: async (req, ctx) =>
      create(Search_ResponsesSchema, { responses: await multi(gw, "MultiSearchObject", req.requests, (r) => search("MultiSearchObject", r, scopeOf(ctx))) }),

    streamInsertObject: (reqs, ctx) =>
      open("StreamInsertObject", () => streamEach(gw, reqs, (r) => insert("StreamInsertObject", r, scopeOf(ctx)), location, locationStatus, blobId)),
    streamUpdateObject: (reqs, ctx) =>
      open("StreamUpdateObject", () => streamEach(gw, reqs, (r) => update("StreamUpdateObject", r, scopeOf(ctx)), location, locationStatus, blobId)),
    streamUpsertObject: (reqs, ctx) =>
      open("StreamUpsertObject", () => streamEach(gw, reqs, (r) => upsert("StreamUpsertObject", r, scopeOf(ctx)), location, locationStatus, blobId)),
    streamSearchObject: (reqs, ctx) =>
      open("StreamSearchObject", () =>
        streamEach(
          gw,
          reqs,
          (r) => search("StreamSearchObject", r, scopeOf(ctx)),
          (res) => create(Search_StreamResponseSchema, { payload: { case: "response", value: res } }),
          (status) => create(Search_StreamResponseSchema, { payload: { case: "status", value: status } }),
        ),
      ),
  };
}
