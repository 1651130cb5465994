// vald.v1.Remove: Remove, StreamRemove, MultiRemove and RemoveByTimestamp.
// MultiRemove follows write.ts: every id is validated and must exist (and appear
// once) before anything is removed, so a bad request removes nothing.
import { create } from "@bufbuild/protobuf";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import {
  Object_LocationsSchema,
  Object_StreamLocationSchema,
  Remove_Timestamp_Operator,
  type Remove_Request,
} from "../../gen/payload/v1/payload_pb";
import type { Remove } from "../../gen/vald/v1/remove_pb";
import type { TimestampOperator } from "../engine/types";
import { failed, location, unary, type HandlerEnv } from "./env";
import { failure, invalidArgument, toStatus } from "./errors";
import { ordered, settle } from "./stream";
import { checkBatch, checkId, checkTimestamp } from "./validate";
import { applyAll, writeStreamConcurrency } from "./write";

const OPERATORS: Record<Remove_Timestamp_Operator, TimestampOperator> = {
  [Remove_Timestamp_Operator.EQ]: "eq",
  [Remove_Timestamp_Operator.NE]: "ne",
  [Remove_Timestamp_Operator.GE]: "ge",
  [Remove_Timestamp_Operator.GT]: "gt",
  [Remove_Timestamp_Operator.LE]: "le",
  [Remove_Timestamp_Operator.LT]: "lt",
};

export function removeService(env: HandlerEnv): ServiceImpl<typeof Remove> {
  const { engine } = env;
  const one = async (req: Remove_Request, field: string) => {
    const id = checkId(req.id?.id, field, env.limits);
    await engine.remove(id);
    return location(env, id);
  };
  return {
    remove: (req, ctx) => unary(env, ctx, () => one(req, "id.id"), { id: req.id?.id }),

    streamRemove: (reqs, ctx) =>
      ordered(
        reqs,
        (req) =>
          settle(
            () => one(req, "id.id"),
            (loc) => create(Object_StreamLocationSchema, { payload: { case: "location", value: loc } }),
            (e) =>
              create(Object_StreamLocationSchema, {
                payload: { case: "status", value: toStatus(failed(env, ctx, e, { id: req.id?.id })) },
              }),
          ),
        // a remove holds no vector: the widest window
        writeStreamConcurrency(0),
      ),

    multiRemove: (req, ctx) =>
      unary(env, ctx, async () => {
        checkBatch(req.requests.length, env.limits);
        const ids = req.requests.map((r, i) => checkId(r.id?.id, `requests[${i}].id.id`, env.limits));
        const seen = new Set<string>();
        for (const [i, id] of ids.entries()) {
          if (seen.has(id) || !engine.exists(id)) {
            throw failure(Code.NotFound, `requests[${i}]: id ${JSON.stringify(id)} not found`, "ID_NOT_FOUND");
          }
          seen.add(id);
        }
        const err = await applyAll(
          ids.map((id) => ({ id })),
          ({ id }) => engine.remove(id),
        );
        if (err) throw err;
        return create(Object_LocationsSchema, { locations: ids.map((id) => location(env, id)) });
      }),

    // An empty condition list would match every vector; Flush is the explicit way to do
    // that, so we refuse instead of wiping the agent by accident.
    removeByTimestamp: (req, ctx) =>
      unary(env, ctx, async () => {
        if (req.timestamps.length === 0) {
          throw invalidArgument("timestamps must name at least one condition (use Flush to remove everything)", [
            { field: "timestamps", description: "min_items 1" },
          ]);
        }
        const conditions = req.timestamps.map((t, i) => {
          const op = OPERATORS[t.operator];
          if (!op) throw invalidArgument(`timestamps[${i}].operator ${t.operator} is unknown`, [{ field: `timestamps[${i}].operator`, description: "EQ NE GE GT LE LT" }]);
          return { timestamp: checkTimestamp(t.timestamp, `timestamps[${i}].timestamp`), op };
        });
        const removed = await engine.removeByTimestamp(conditions);
        if (removed.length === 0) throw failure(Code.NotFound, "no vector matches the timestamp conditions", "ID_NOT_FOUND");
        return create(Object_LocationsSchema, { locations: removed.map((id) => location(env, id)) });
      }),
  };
}
