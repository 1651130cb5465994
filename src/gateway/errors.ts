// Error plumbing for the gateway: relaying agents' errors, choosing the most useful
// one when several agents fail, and turning errors into google.rpc.Status for the
// `status` member of stream responses.
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { StatusSchema, type Status } from "../gen/google/rpc/status_pb";
import { ErrorInfoSchema, RequestInfoSchema, ResourceInfoSchema } from "../gen/rpc/v1/error_details_pb";

const DOMAIN = "gateway.alvd";

/**
 * Order in which errors explain a failure to a client, most telling first: a caller's
 * mistake (bad argument, duplicate id) beats a timeout, which beats an agent fault;
 * NotFound is weaker than any fault (the id may live on the agent that failed), and
 * Unavailable (an agent that went away) tells the least.
 */
const RANK: Code[] = [
  Code.InvalidArgument,
  Code.FailedPrecondition,
  Code.OutOfRange,
  Code.AlreadyExists,
  Code.PermissionDenied,
  Code.Unauthenticated,
  Code.ResourceExhausted,
  Code.DeadlineExceeded,
  Code.Canceled,
  Code.Aborted,
  Code.Internal,
  Code.DataLoss,
  Code.Unknown,
  Code.Unimplemented,
  Code.NotFound,
  Code.Unavailable,
];

function rank(code: Code): number {
  const i = RANK.indexOf(code);
  return i < 0 ? RANK.length : i;
}

/** the most meaningful of several errors (undefined for none) */
export function mostMeaningful(errors: readonly ConnectError[]): ConnectError | undefined {
  let best: ConnectError | undefined;
  for (const e of errors) if (best === undefined || rank(e.code) < rank(best.code)) best = e;
  return best;
}

/**
 * An agent's error as the gateway's own: same code, message and details, but without
 * the agent's response metadata (its headers and trailers must not leak into ours).
 */
export function relay(e: unknown, agent?: string): ConnectError {
  const err = ConnectError.from(e);
  const msg = agent !== undefined && !err.rawMessage.includes(agent) ? `${agent}: ${err.rawMessage}` : err.rawMessage;
  const out = new ConnectError(msg, err.code, undefined, undefined, err);
  out.details = err.details;
  return out;
}

/** An error raised by the gateway itself, with Vald-style rpc.v1 details. */
export function gatewayError(code: Code, message: string, info: { requestId?: string; rpc?: string; reason?: string } = {}): ConnectError {
  return new ConnectError(message, code, undefined, [
    { desc: ErrorInfoSchema, value: { reason: info.reason ?? Code[code] ?? "unknown", domain: DOMAIN } },
    ...(info.requestId !== undefined ? [{ desc: RequestInfoSchema, value: { requestId: info.requestId } }] : []),
    ...(info.rpc !== undefined ? [{ desc: ResourceInfoSchema, value: { resourceType: `vald.v1.${info.rpc}`, resourceName: "gateway" } }] : []),
  ]);
}

export function noAgents(rpc: string, requestId?: string): ConnectError {
  return gatewayError(Code.Unavailable, `${rpc}: no agents connected`, { rpc, requestId, reason: "NO_AGENTS" });
}

export function invalidArgument(rpc: string, message: string, requestId?: string): ConnectError {
  return gatewayError(Code.InvalidArgument, `${rpc}: ${message}`, { rpc, requestId, reason: "INVALID_ARGUMENT" });
}

/** google.rpc.Status for a stream item, keeping the error's details as Any. */
export function toStatus(e: unknown): Status {
  const err = ConnectError.from(e);
  return create(StatusSchema, {
    code: err.code,
    message: err.rawMessage,
    details: err.details.map((d) =>
      "desc" in d
        ? { typeUrl: `type.googleapis.com/${d.desc.typeName}`, value: toBinary(d.desc, create(d.desc, d.value)) }
        : { typeUrl: `type.googleapis.com/${d.type}`, value: d.value },
    ),
  });
}

/** Lost replica: the agent's connection went away; not the request's fault. */
export function isLost(e: ConnectError): boolean {
  return e.code === Code.Unavailable;
}
