// What every client command is handed by the client entry (run.ts).
import type { ClientCommand, ClientValues } from "../config/client-flags";
import type { Session } from "./connection";
import type { Io } from "./io";

export interface Ctx {
  command: ClientCommand;
  values: ClientValues;
  /** positional arguments */
  args: string[];
  io: Io;
  /** the connection, opened on first use */
  session(): Session;
  /** aborted on the first Ctrl-C: stop sending, finish what is in flight */
  stop: AbortSignal;
}

/** A command's result: the process exit code (0 done, 1 failed, 2 bad usage). */
export type Command = (ctx: Ctx) => Promise<number>;
