// Error shaping for the agent's RPCs. Vald clients look at the status code first and
// at the rpc.v1 details in grpc-status-details-bin second, so every error leaving a
// handler carries: ErrorInfo (reason, domain), RequestInfo (request id when there is
// one), ResourceInfo (which agent and RPC) and, for bad input, BadRequest.
import { hostname } from "node:os";
import { create, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack, AnySchema, type Any } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { StatusSchema, type Status } from "../../gen/google/rpc/status_pb";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  RequestInfoSchema,
  ResourceInfoSchema,
} from "../../gen/rpc/v1/error_details_pb";

/** What an error needs to name its origin. */
export interface ErrorScope {
  agent: string;
  /** "vald.v1.Insert/Insert" */
  rpc: string;
  requestId?: string;
  /** the vector id the failing item was about */
  id?: string;
}

interface Detail<Desc extends DescMessage = DescMessage> {
  desc: Desc;
  value: MessageInitShape<Desc>;
}

function detail<Desc extends DescMessage>(desc: Desc, value: MessageInitShape<Desc>): Detail {
  return { desc, value } as Detail;
}

// Vald fills ErrorInfo.domain with the host name of the process that failed.
const DOMAIN = hostname();

/** Ids and request ids come from clients and may be long; details travel in a header. */
const ECHO_CHARS = 256;
const clip = (s: string) => (s.length > ECHO_CHARS ? `${s.slice(0, ECHO_CHARS)}…` : s);

export interface FieldViolation {
  field: string;
  description: string;
}

/** InvalidArgument with BadRequest field violations; origin details are added later by `enrich`. */
export function invalidArgument(message: string, violations: FieldViolation[], reason = "INVALID_ARGUMENT"): ConnectError {
  return new ConnectError(message, Code.InvalidArgument, undefined, [
    detail(ErrorInfoSchema, { reason, domain: DOMAIN }),
    detail(BadRequestSchema, { fieldViolations: violations }),
  ]);
}

/** A failure with a specific machine-readable reason (e.g. SEARCH_RESULT_EMPTY). */
export function failure(code: Code, message: string, reason: string): ConnectError {
  return new ConnectError(message, code, undefined, [detail(ErrorInfoSchema, { reason, domain: DOMAIN })]);
}

export function scopeOf(ctx: HandlerContext, agent: string, extra: Partial<ErrorScope> = {}): ErrorScope {
  return { agent, rpc: `${ctx.service.typeName}/${ctx.method.name}`, ...extra };
}

function reasonFor(code: Code): string {
  return (Code[code] ?? "Unknown").replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

function hasDetail(e: ConnectError, desc: DescMessage): boolean {
  return e.details.some((d) => ("desc" in d ? d.desc.typeName : d.type) === desc.typeName);
}

/**
 * Any thrown value → ConnectError with Vald's details. Engine errors keep their code
 * and message; anything that is not a ConnectError is an internal failure.
 */
export function enrich(e: unknown, scope: ErrorScope): ConnectError {
  const base =
    e instanceof ConnectError ? e : new ConnectError(e instanceof Error ? e.message : String(e), Code.Internal, undefined, undefined, e);
  const details: ConnectError["details"] = [...base.details];
  if (!hasDetail(base, ErrorInfoSchema)) {
    details.push(detail(ErrorInfoSchema, { reason: reasonFor(base.code), domain: DOMAIN, metadata: { rpc: scope.rpc } }));
  }
  if (scope.requestId && !hasDetail(base, RequestInfoSchema)) {
    details.push(detail(RequestInfoSchema, { requestId: clip(scope.requestId), servingData: clip(scope.id ?? "") }));
  }
  if (!hasDetail(base, ResourceInfoSchema)) {
    details.push(
      detail(ResourceInfoSchema, {
        resourceType: `alvd.agent/${scope.rpc}`,
        resourceName: scope.agent,
        owner: clip(scope.id ?? ""),
        description: base.rawMessage,
      }),
    );
  }
  const err = new ConnectError(base.rawMessage, base.code, base.metadata, undefined, base.cause);
  // assigned, not passed: details parsed from the wire (a tunnelled agent's) are kept too
  err.details = details;
  return err;
}

function toAny(d: ConnectError["details"][number]): Any {
  if ("desc" in d) return anyPack(d.desc, create(d.desc, d.value));
  return create(AnySchema, { typeUrl: `type.googleapis.com/${d.type}`, value: d.value });
}

/** The google.rpc.Status of a stream item that failed (the StreamResponse `status` member). */
export function toStatus(e: ConnectError): Status {
  return create(StatusSchema, { code: e.code, message: e.rawMessage, details: e.details.map(toAny) });
}
