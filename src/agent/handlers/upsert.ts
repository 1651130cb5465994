// vald.v1.Upsert: Upsert, StreamUpsert, MultiUpsert (semantics in write.ts).
import type { ServiceImpl } from "@connectrpc/connect";
import type { Upsert_Request } from "../../gen/payload/v1/payload_pb";
import type { Upsert } from "../../gen/vald/v1/upsert_pb";
import type { HandlerEnv } from "./env";
import { writeHandlers } from "./write";

export function upsertService(env: HandlerEnv): ServiceImpl<typeof Upsert> {
  const w = writeHandlers<Upsert_Request>(env, "upsert");
  return { upsert: w.unary, streamUpsert: w.stream, multiUpsert: w.multi };
}
