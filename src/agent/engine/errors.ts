// The engine's failures, already carrying the Vald status code, so handlers can pass
// them through and only add request-scoped details.
import { Code, ConnectError } from "@connectrpc/connect";

export function invalidArgument(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

export function notFound(id: string): ConnectError {
  return new ConnectError(`object ${JSON.stringify(id)} not found`, Code.NotFound);
}

export function alreadyExists(message: string): ConnectError {
  return new ConnectError(message, Code.AlreadyExists);
}

export function failedPrecondition(message: string): ConnectError {
  return new ConnectError(message, Code.FailedPrecondition);
}

export function unavailable(name: string): ConnectError {
  return new ConnectError(`agent ${name} is shutting down`, Code.Unavailable);
}

/** Wraps an unexpected failure (I/O, native index) without losing its message. */
export function internal(what: string, cause: unknown): ConnectError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new ConnectError(`${what}: ${detail}`, Code.Internal, undefined, undefined, cause);
}
