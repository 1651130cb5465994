// vald.v1.Object: Exists, GetObject, StreamGetObject, StreamListObject, GetTimestamp.
import { create } from "@bufbuild/protobuf";
import { Code, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  Object_IDSchema,
  Object_List_ResponseSchema,
  Object_StreamVectorSchema,
  Object_TimestampSchema,
  Object_VectorSchema,
  type Object_Timestamp,
  type Object_Vector,
} from "../../gen/payload/v1/payload_pb";
import type { Object$ } from "../../gen/vald/v1/object_pb";
import type { StoredVector } from "../engine/types";
import { failed, unary, type HandlerEnv } from "./env";
import { failure, toStatus } from "./errors";
import { ordered, settle } from "./stream";
import { checkId } from "./validate";

export function vectorMessage(v: StoredVector): Object_Vector {
  return create(Object_VectorSchema, { id: v.id, vector: Array.from(v.vector), timestamp: v.timestamp });
}

/** Object.GetTimestamp and the legacy core.v1.Agent/GetTimestamp */
export function getTimestamp(env: HandlerEnv) {
  return (req: { id?: { id: string } }, ctx: HandlerContext): Promise<Object_Timestamp> =>
    unary(
      env,
      ctx,
      () => {
        const id = checkId(req.id?.id, "id.id", env.limits);
        return create(Object_TimestampSchema, { id, timestamp: env.engine.get(id).timestamp });
      },
      { id: req.id?.id },
    );
}

export function objectService(env: HandlerEnv): ServiceImpl<typeof Object$> {
  const { engine } = env;
  const get = (id: string | undefined) => vectorMessage(engine.get(checkId(id, "id.id", env.limits)));
  return {
    exists: (req, ctx) =>
      unary(
        env,
        ctx,
        () => {
          const id = checkId(req.id, "id", env.limits);
          if (!engine.exists(id)) throw failure(Code.NotFound, `id ${JSON.stringify(id)} not found`, "ID_NOT_FOUND");
          return create(Object_IDSchema, { id });
        },
        { id: req.id },
      ),

    getObject: (req, ctx) => unary(env, ctx, () => get(req.id?.id), { id: req.id?.id }),

    streamGetObject: (reqs, ctx) =>
      ordered(
        reqs,
        (req) =>
          settle(
            async () => get(req.id?.id),
            (vec) => create(Object_StreamVectorSchema, { payload: { case: "vector", value: vec } }),
            (e) =>
              create(Object_StreamVectorSchema, {
                payload: { case: "status", value: toStatus(failed(env, ctx, e, { id: req.id?.id })) },
              }),
          ),
        1,
      ),

    // Generator: each vector is converted only when the client is ready for it.
    async *streamListObject() {
      for (const v of engine.list()) {
        yield create(Object_List_ResponseSchema, { payload: { case: "vector", value: vectorMessage(v) } });
      }
    },

    getTimestamp: getTimestamp(env),
  };
}
