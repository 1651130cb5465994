// The console is a browser client of the gateway like any other: gRPC-web to the origin
// that served the page, our generated descriptors, and the API key (if the server asks
// for one) kept in this tab's session storage and sent as a Bearer token. gRPC-web
// answers every call with HTTP 200 and its status in the trailers, so a refused or
// failed call shows on the page, not as a network error in the browser's console.
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { Admin } from "../../gen/alvd/cluster/v1/admin_pb";
import { Agent } from "../../gen/core/v1/agent_pb";
import { Flush } from "../../gen/vald/v1/flush_pb";
import { Index } from "../../gen/vald/v1/index_pb";
import { Insert } from "../../gen/vald/v1/insert_pb";
import { Object$ } from "../../gen/vald/v1/object_pb";
import { Remove } from "../../gen/vald/v1/remove_pb";
import { Search } from "../../gen/vald/v1/search_pb";

const KEY = "alvd.console.apiKey";

export function storedKey(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function setKey(key: string | null): void {
  try {
    if (key === null) sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, key);
  } catch {
    // storage off (private mode): the key lasts as long as the page
  }
  memoryKey = key;
}

let memoryKey: string | null = null;

const withKey: Interceptor = (next) => (req) => {
  const key = storedKey() ?? memoryKey;
  if (key) req.header.set("authorization", `Bearer ${key}`);
  return next(req);
};

const transport = createGrpcWebTransport({ baseUrl: location.origin, useBinaryFormat: true, interceptors: [withKey] });

export const api = {
  admin: createClient(Admin, transport),
  search: createClient(Search, transport),
  insert: createClient(Insert, transport),
  remove: createClient(Remove, transport),
  object: createClient(Object$, transport),
  index: createClient(Index, transport),
  flush: createClient(Flush, transport),
  agent: createClient(Agent, transport),
};

/** polls and reads give up after this */
export const READ_TIMEOUT_MS = 5000;

export interface Failure {
  /** the gRPC code's name, as gRPC spells it: PERMISSION_DENIED */
  code: string;
  message: string;
  unauthenticated: boolean;
}

export function failure(e: unknown): Failure {
  const err = ConnectError.from(e);
  const name = Code[err.code] ?? "UNKNOWN";
  return {
    code: name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase(),
    message: err.rawMessage,
    unauthenticated: err.code === Code.Unauthenticated,
  };
}
