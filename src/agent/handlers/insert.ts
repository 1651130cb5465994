// vald.v1.Insert: Insert, StreamInsert, MultiInsert (semantics in write.ts).
import type { ServiceImpl } from "@connectrpc/connect";
import type { Insert_Request } from "../../gen/payload/v1/payload_pb";
import type { Insert } from "../../gen/vald/v1/insert_pb";
import type { HandlerEnv } from "./env";
import { writeHandlers } from "./write";

export function insertService(env: HandlerEnv): ServiceImpl<typeof Insert> {
  const w = writeHandlers<Insert_Request>(env, "insert");
  return { insert: w.unary, streamInsert: w.stream, multiInsert: w.multi };
}
