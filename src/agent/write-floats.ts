// The agent's write methods have their vectors decoded straight into the engine's
// staging arena: a bulk load then copies each vector off the wire once, not into a
// fresh array first and the arena after. A server whose only agent is its embedded
// one does the same on its own port: the gateway hands the decoded vectors to that
// agent in-process, unchanged. A 60k × 784 MultiInsert faulted in ~55k
// fewer pages and its insert phase took ~10 % less (bench/RESULTS.md).
import type { DescMethod } from "@bufbuild/protobuf";
import { Insert } from "../gen/vald/v1/insert_pb";
import { Update } from "../gen/vald/v1/update_pb";
import { Upsert } from "../gen/vald/v1/upsert_pb";
import type { FloatPlacement } from "../rpc/direct-transport";
import type { Engine } from "./engine/types";

/** Only services whose every vector is staged: a search query decoded there would waste arena room. */
const STAGING_SERVICES = new Set<string>([Insert.typeName, Update.typeName, Upsert.typeName]);

/**
 * `sole`: asked at each decode, false when the vectors may go elsewhere (a gateway that
 * also has other agents): they then get plain arrays, as a room the engine never stages
 * would stay unused until its chunk is dropped.
 */
export function stagingFloats(engine: Engine, sole: () => boolean = () => true): FloatPlacement {
  const room = (length: number) => (sole() ? engine.vectorRoom(length) : new Float32Array(length));
  return (method: DescMethod) => (STAGING_SERVICES.has(method.parent.typeName) ? room : undefined);
}
