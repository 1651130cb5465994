// vald.v1.Filter: object (blob) in, vector out through a vectorizer. The agent stores
// and searches vectors only (the server's gateway serves Filter when its config file
// has a vectorizer), so every method says so instead of a bare Unimplemented.
import { ConnectError, Code, type ServiceImpl } from "@connectrpc/connect";
import type { Filter } from "../../gen/vald/v1/filter_pb";

const MESSAGE =
  "vald.v1.Filter needs a vectorizer, and an agent has none: call the server's gateway, whose config file may set one " +
  "(vectorizer in its server section), or vectorize the object yourself and call Insert/Update/Upsert/Search with the vector";

function unimplemented(): never {
  throw new ConnectError(MESSAGE, Code.Unimplemented);
}

export function filterService(): ServiceImpl<typeof Filter> {
  // Streams: fail before reading anything, so the client sees the reason at once.
  // eslint-disable-next-line require-yield
  async function* stream(): AsyncGenerator<never> {
    unimplemented();
  }
  return {
    searchObject: unimplemented,
    multiSearchObject: unimplemented,
    streamSearchObject: stream,
    insertObject: unimplemented,
    streamInsertObject: stream,
    multiInsertObject: unimplemented,
    updateObject: unimplemented,
    streamUpdateObject: stream,
    multiUpdateObject: unimplemented,
    upsertObject: unimplemented,
    streamUpsertObject: stream,
    multiUpsertObject: unimplemented,
  };
}
