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

/** The agent cannot do this now (its disk failed): the client may retry elsewhere or later. */
export function unavailableBecause(message: string, cause?: unknown): ConnectError {
  return new ConnectError(message, Code.Unavailable, undefined, undefined, cause);
}

/** Wraps an unexpected failure (I/O, native index) without losing its message. */
export function internal(what: string, cause: unknown): ConnectError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new ConnectError(`${what}: ${detail}`, Code.Internal, undefined, undefined, cause);
}

const IO_WORDS: Record<string, string> = {
  ENOSPC: "the disk is full",
  EDQUOT: "the disk quota is used up",
  EROFS: "the file system is read-only",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EIO: "an I/O error (a failing disk?)",
  ENOENT: "a file or directory is missing",
  ENOTDIR: "a path component is not a directory",
};

/** An I/O failure in words an operator acts on: what failed, where, and the errno. */
export function describeIo(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (!e || typeof e.code !== "string") return err instanceof Error ? err.message : String(err);
  const words = IO_WORDS[e.code] ?? e.message;
  return `${words} (${e.code}${e.syscall ? ` on ${e.syscall}` : ""}${e.path ? ` of ${e.path}` : ""})`;
}

