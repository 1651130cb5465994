// The client commands' entry: flags (CLIENT_FLAGS) → the command's module, loaded only
// now so `alvd server` never loads client code → exit code. Ctrl-C once stops sending
// and lets the answers in flight arrive (so the summary is exact); twice quits at once.
import { CLIENT_FLAGS, type ClientCommand, type ClientValues } from "../config/client-flags";
import { clientCommandHelp } from "../config/help";
import { ConfigError, parseCommandLine } from "../config/parse";
import { connectionOf, openSession, type Session } from "./connection";
import type { Command } from "./context";
import { CliError } from "./errors";
import { processIo } from "./io";

const COMMANDS: Record<ClientCommand, () => Promise<Command>> = {
  "rand-vecs": async () => (await import("./rand-vecs")).randVecs,
  insert: async () => (await import("./unary")).insert,
  upsert: async () => (await import("./unary")).upsert,
  search: async () => (await import("./unary")).search,
  exists: async () => (await import("./unary")).exists,
  get: async () => (await import("./unary")).get,
  remove: async () => (await import("./unary")).remove,
  "stream-insert": async () => (await import("./stream-commands")).streamInsert,
  "stream-upsert": async () => (await import("./stream-commands")).streamUpsert,
  "stream-search": async () => (await import("./stream-commands")).streamSearch,
  index: async () => (await import("./index-commands")).index,
  flush: async () => (await import("./index-commands")).flush,
  load: async () => (await import("./load/load")).load,
  export: async () => (await import("./archive/export")).exportCommand,
  import: async () => (await import("./archive/import")).importCommand,
  backup: async () => (await import("./archive/backup")).backupCommand,
  restore: async () => (await import("./archive/restore")).restoreCommand,
};

export async function runClient(command: ClientCommand, argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const io = processIo();
  if (argv.includes("--help")) {
    await io.out.write(clientCommandHelp(command));
    return 0;
  }
  let session: Session | undefined;
  const stop = new AbortController();
  const onSigint = () => {
    if (stop.signal.aborted) process.exit(130);
    io.err(`\nalvd ${command}: stopping: waiting for the answers in flight (Ctrl-C again to quit at once)\n`);
    stop.abort();
  };
  process.on("SIGINT", onSigint);
  try {
    const { values, args } = parseCommandLine(CLIENT_FLAGS, command, argv, env);
    const f = values as ClientValues;
    const run = await COMMANDS[command]();
    return await run({
      command,
      values: f,
      args,
      io,
      session: () => (session ??= openSession(connectionOf(f))),
      stop: stop.signal,
    });
  } catch (e) {
    if (e instanceof ConfigError) {
      io.err(`alvd: ${e.message}\n`);
      return 2;
    }
    if (e instanceof CliError) {
      io.err(`alvd ${command}: ${e.message}\n`);
      return e.exitCode;
    }
    io.err(`alvd ${command}: ${(e as Error).message ?? String(e)}\n`);
    return 1;
  } finally {
    process.off("SIGINT", onSigint);
    session?.close();
  }
}
