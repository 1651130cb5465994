// vald.v1.Update: Update, StreamUpdate, MultiUpdate (semantics in write.ts) and
// UpdateTimestamp. On a single agent "balanced update" has nothing to balance, so
// disable_balanced_update changes nothing here.
import type { ServiceImpl } from "@connectrpc/connect";
import type { Update_Request } from "../../gen/payload/v1/payload_pb";
import type { Update } from "../../gen/vald/v1/update_pb";
import { location, unary, type HandlerEnv } from "./env";
import { checkId, checkTimestamp } from "./validate";
import { writeHandlers } from "./write";

export function updateService(env: HandlerEnv): ServiceImpl<typeof Update> {
  const w = writeHandlers<Update_Request>(env, "update");
  return {
    update: w.unary,
    streamUpdate: w.stream,
    multiUpdate: w.multi,
    updateTimestamp: (req, ctx) =>
      unary(
        env,
        ctx,
        async () => {
          const id = checkId(req.id, "id", env.limits);
          await env.engine.updateTimestamp(id, checkTimestamp(req.timestamp, "timestamp"), req.force);
          return location(env, id);
        },
        { id: req.id },
      ),
  };
}
