// What every client call passes before a handler runs, on every road into a listener
// (the unary gRPC fast path and Connect's handlers for streams, gRPC-web and Connect):
// the API key check and the in-flight limit, decided from the headers before the body
// is read. On Connect's roads the decision travels in the call's context values and
// Connect's request gate raises it, so the error is written in the call's own protocol.
//
// Connect reports a request body that is not valid protobuf as INTERNAL ("parse
// binary"), which blames the server for the client's mistake. For unary calls the body
// is bounded, so it is decoded once here first and a failure becomes INVALID_ARGUMENT;
// stream messages are mapped by decodeErrorsInterceptor as the handler reads them.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextKey, createContextValues, type ContextValues, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { readAllBytes, type Compression, type UniversalHandler, type UniversalServerRequest } from "@connectrpc/connect/protocol";
import type { ApiKeys } from "../security/api-keys";
import { ENVELOPE_HEADER_BYTES } from "./envelope";
import { undecodable } from "./unary-call";

const REFUSAL = createContextKey<ConnectError | undefined>(undefined, { description: "alvd: why this call is refused" });

export interface Guard {
  /** the refusal for a call about to start, or undefined; counts it in flight when admitted */
  admit(path: string, header: Headers): ConnectError | undefined;
  /** a call admitted by admit() ended */
  release(): void;
  readonly inFlight: number;
}

export function createGuard(keys: ApiKeys | undefined, maxInFlight: number): Guard {
  let inFlight = 0;
  return {
    admit(path, header) {
      const refused = keys?.refusal(path, header);
      if (refused) return refused;
      if (inFlight >= maxInFlight) {
        return new ConnectError(`server busy: ${inFlight} calls in flight (--max-in-flight ${maxInFlight}); retry with backoff`, Code.ResourceExhausted);
      }
      inFlight++;
      return undefined;
    },
    release() {
      inFlight--;
    },
    get inFlight() {
      return inFlight;
    },
  };
}

/** Context values carrying a refusal (or none) to the request gate. */
export function refusalValues(refusal: ConnectError | undefined): ContextValues {
  const values = createContextValues();
  if (refusal) values.set(REFUSAL, refusal);
  return values;
}

/** Connect's requestGate: raises what the listener decided, before the body is read. */
export function requestGate(ctx: HandlerContext): void {
  const refusal = ctx.values.get(REFUSAL);
  if (refusal) throw refusal;
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

/** The message bytes of a unary request, or undefined when Connect should judge it as is. */
async function unaryMessage(req: UniversalServerRequest, bytes: Uint8Array, compressions: Compression[], readMaxBytes: number): Promise<Uint8Array | undefined> {
  const type = (req.header.get("content-type") ?? "").toLowerCase();
  const byName = (name: string | null) => (name === null || name === "identity" ? null : compressions.find((c) => c.name === name));
  if (type === "application/proto") {
    const c = byName(req.header.get("content-encoding"));
    if (c === undefined) return undefined;
    return c === null ? bytes : c.decompress(bytes, readMaxBytes);
  }
  if (type === "application/grpc" || type === "application/grpc+proto" || type === "application/grpc-web" || type === "application/grpc-web+proto") {
    if (bytes.byteLength < ENVELOPE_HEADER_BYTES) return undefined;
    const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1);
    if (ENVELOPE_HEADER_BYTES + len !== bytes.byteLength) return undefined;
    const message = bytes.subarray(ENVELOPE_HEADER_BYTES);
    if ((bytes[0]! & 0b1) === 0) return message;
    const c = byName(req.header.get("grpc-encoding"));
    if (c === null) throw new ConnectError("protocol error: the message is flagged compressed but the call names no grpc-encoding", Code.InvalidArgument);
    return c ? c.decompress(message, readMaxBytes) : undefined;
  }
  return undefined;
}

/** Decodes a unary binary request once before Connect does, so bad protobuf is INVALID_ARGUMENT. */
export function checkUnaryDecode(handler: UniversalHandler, readMaxBytes: number, compressions: Compression[]): UniversalHandler {
  if (handler.method.methodKind !== "unary") return handler;
  const input = handler.method.input;
  const checked = async (req: UniversalServerRequest) => {
    const values = req.contextValues ?? createContextValues();
    if (values.get(REFUSAL) !== undefined || req.method !== "POST" || req.body === undefined || !(Symbol.asyncIterator in Object(req.body))) {
      return handler(req);
    }
    let bytes: Uint8Array;
    try {
      bytes = await readAllBytes(req.body as AsyncIterable<Uint8Array>, readMaxBytes + ENVELOPE_HEADER_BYTES, req.header.get("content-length"));
    } catch (e) {
      values.set(REFUSAL, ConnectError.from(e, Code.InvalidArgument));
      return handler({ ...req, body: once(new Uint8Array(0)), contextValues: values });
    }
    try {
      const message = await unaryMessage(req, bytes, compressions, readMaxBytes);
      if (message !== undefined) fromBinary(input, message);
    } catch (e) {
      values.set(REFUSAL, e instanceof ConnectError ? e : undecodable(e));
    }
    return handler({ ...req, body: once(bytes), contextValues: values });
  };
  return Object.assign(checked, handler);
}

/**
 * A stream whose messages cannot be read (not protobuf, compressed without an encoding
 * we know, a broken envelope) ends with INVALID_ARGUMENT: Connect reports these as
 * INTERNAL, but everything the request iterator fails on came from the client.
 */
export const decodeErrorsInterceptor: Interceptor = (next) => (req) => {
  if (!req.stream) return next(req);
  const input = req.message;
  async function* mapped() {
    try {
      yield* input;
    } catch (e) {
      const c = ConnectError.from(e);
      if (c.code !== Code.Internal) throw e;
      throw c.rawMessage.startsWith("parse binary: ") ? undecodable(new Error(c.rawMessage.slice(14))) : new ConnectError(c.rawMessage, Code.InvalidArgument);
    }
  }
  return next({ ...req, message: mapped() });
};

/** grpc-message and grpc-status-details-bin travel in HTTP/2 headers: keep them far below any peer's header limit. */
const MAX_MESSAGE_CHARS = 2048;
const MAX_DETAIL_BYTES = 2048;

function detailBytes(d: ConnectError["details"][number]): number {
  if (!("desc" in d)) return d.value.byteLength;
  try {
    return toBinary(d.desc, create(d.desc, d.value)).byteLength;
  } catch {
    return Infinity;
  }
}

/** An error small enough for headers, whatever a handler put in it (echoed ids, request ids). */
export function boundError(e: unknown): unknown {
  if (!(e instanceof ConnectError)) return e;
  const long = e.rawMessage.length > MAX_MESSAGE_CHARS;
  const details = e.details.filter((d) => detailBytes(d) <= MAX_DETAIL_BYTES);
  if (!long && details.length === e.details.length) return e;
  const message = long ? `${e.rawMessage.slice(0, MAX_MESSAGE_CHARS)}… (${e.rawMessage.length - MAX_MESSAGE_CHARS} more characters)` : e.rawMessage;
  const out = new ConnectError(message, e.code, e.metadata, undefined, e.cause);
  out.details = details;
  return out;
}

async function* boundedStream<T>(messages: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (e) {
    throw boundError(e);
  }
}

/** Applies boundError to whatever a call fails with, unary or mid-stream. */
export const boundedErrorsInterceptor: Interceptor = (next) => async (req) => {
  try {
    const res = await next(req);
    return res.stream ? { ...res, message: boundedStream(res.message) } : res;
  } catch (e) {
    throw boundError(e);
  }
};
