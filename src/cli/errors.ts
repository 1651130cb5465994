// What a user reads when a client command fails: one line that says what happened and
// what to try, and an exit code scripts can rely on (0 done, 1 failed, 2 bad usage).
import { Code, ConnectError } from "@connectrpc/connect";

/** A failure the command has already put into words; `exitCode` 1 unless said otherwise. */
export class CliError extends Error {
  override name = "CliError";
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** NotFound → NOT_FOUND, as gRPC tools and Vald's docs spell codes. */
export function codeName(code: Code): string {
  return (Code[code] ?? String(code)).replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/** Where the client talks to, and whether it used TLS, for hints. */
export interface Target {
  address: string;
  tls: boolean;
  /** an API key was sent */
  key: boolean;
}

/** An RPC failure (or any error) as one line, with a hint for the usual mistakes; `what` ("" = nothing) goes first. */
export function describe(e: unknown, what: string, target: Target): string {
  if (e instanceof CliError) return what ? `${what}: ${e.message}` : e.message;
  return (what ? `${what}: ` : "") + explain(e, target);
}

function explain(e: unknown, target: Target): string {
  const err = ConnectError.from(e);
  const msg = err.rawMessage;
  const cause = `${msg} ${String((err.cause as Error | undefined)?.message ?? "")}`;
  if (/ECONNREFUSED/.test(cause)) return `cannot reach ${target.address}: connection refused (is alvd or Vald listening there? check -h/--host and -p/--port)`;
  if (/ENOTFOUND|EAI_AGAIN/.test(cause)) return `cannot resolve the host of ${target.address} (check -h/--host)`;
  if (/certificate|self[- ]signed|UNABLE_TO_VERIFY|ERR_TLS_CERT|CERT_/i.test(cause)) {
    return `TLS: ${msg} (give the CA that signed the server's certificate with --tls-ca-file, or the name it carries with --tls-server-name)`;
  }
  if (/wrong version number|packet length too long|ssl3_get_record|EPROTO/i.test(cause)) {
    return `TLS handshake with ${target.address} failed: ${msg} (${target.tls ? "the port may be plain text: drop --tls" : "use --tls"})`;
  }
  if (!target.tls && /ECONNRESET|stream closed|GOAWAY|PROTOCOL_ERROR|socket hang up/i.test(cause) && (err.code === Code.Unavailable || err.code === Code.Canceled || err.code === Code.Unknown)) {
    return `${target.address} closed the connection: ${msg} (a TLS port? use --tls)`;
  }
  switch (err.code) {
    case Code.Unauthenticated:
      return target.key
        ? `${target.address} refused the API key: check --api-key or ALVD_API_KEY (${msg})`
        : `${target.address} wants an API key: pass --api-key or set ALVD_API_KEY (${msg})`;
    case Code.PermissionDenied:
      return `not allowed with this API key (a read-only key?): ${msg}`;
    case Code.DeadlineExceeded:
      return `no answer in time (raise -t/--timeout): ${msg}`;
    case Code.Unimplemented:
      return `${target.address} does not serve this call (${msg}); Vald serves index control on its agents, not the gateway`;
    case Code.Unavailable:
      return `${target.address} is unavailable: ${msg}`;
    default:
      return `${codeName(err.code)}: ${msg}`;
  }
}

/** Runs one call; its failure becomes the one-line message (exit 1). */
export async function attempt<T>(target: Target, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw new CliError(describe(e, "", target));
  }
}
