// vald.v1.Filter: object ↔ vector conversion through external filter services.
// alvd has no filter services, so every method says so instead of a bare Unimplemented.
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { Filter } from "../gen/vald/v1/filter_pb";

function unavailable(rpc: string): never {
  throw new ConnectError(
    `Filter/${rpc}: no ingress/egress filter (vectorizer) services are configured in alvd; send vectors with vald.v1.Insert/Search instead`,
    Code.Unimplemented,
  );
}

export function filterService(): ServiceImpl<typeof Filter> {
  return {
    searchObject: () => unavailable("SearchObject"),
    multiSearchObject: () => unavailable("MultiSearchObject"),
    // eslint-disable-next-line require-yield
    streamSearchObject: async function* () {
      unavailable("StreamSearchObject");
    },
    insertObject: () => unavailable("InsertObject"),
    // eslint-disable-next-line require-yield
    streamInsertObject: async function* () {
      unavailable("StreamInsertObject");
    },
    multiInsertObject: () => unavailable("MultiInsertObject"),
    updateObject: () => unavailable("UpdateObject"),
    // eslint-disable-next-line require-yield
    streamUpdateObject: async function* () {
      unavailable("StreamUpdateObject");
    },
    multiUpdateObject: () => unavailable("MultiUpdateObject"),
    upsertObject: () => unavailable("UpsertObject"),
    // eslint-disable-next-line require-yield
    streamUpsertObject: async function* () {
      unavailable("StreamUpsertObject");
    },
    multiUpsertObject: () => unavailable("MultiUpsertObject"),
  };
}
