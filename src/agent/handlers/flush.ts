// vald.v1.Flush: remove every vector from this agent and report what is left.
import type { ServiceImpl } from "@connectrpc/connect";
import type { Flush } from "../../gen/vald/v1/flush_pb";
import { unary, type HandlerEnv } from "./env";
import { countMessage } from "./index-control";

export function flushService(env: HandlerEnv): ServiceImpl<typeof Flush> {
  return {
    flush: (_req, ctx) =>
      unary(env, ctx, async () => {
        await env.engine.flush();
        return countMessage(env);
      }),
  };
}
