#!/usr/bin/env bun
// Process entry: argv/env → typed config → start the server or the agent, and stop
// them cleanly on SIGINT/SIGTERM (stop accepting, drain, save, exit 0).
import { isClientCommand } from "./config/client-flags";
import { agentConfig, drainConfig, serverConfig } from "./config/config";
import { commandHelp, usage } from "./config/help";
import { type ConfigFile, loadConfigFile } from "./config/file";
import { ConfigError, configPath } from "./config/parse";
import { createLogger, type Logger } from "./observe/log";
import { buildTarget, commit, version } from "./version";

interface Running {
  stop(): Promise<void>;
  /** SIGHUP: re-read what can change without a restart (API key files, the config file's hooks) */
  reload(): void;
}

/** A start that failed after flags were read: the log level says whether to show the stack. */
class StartFailed extends Error {
  constructor(
    readonly error: unknown,
    readonly debug: boolean,
  ) {
    super("start failed");
  }
}

/**
 * What a user reads: one line, the error's own words (a ConnectError's rawMessage, without
 * its code prefix; looked up by name so `alvd version` need not load Connect).
 */
function oneLine(e: unknown): string {
  const raw = (e as { rawMessage?: unknown })?.rawMessage;
  const text = typeof raw === "string" ? raw : e instanceof Error ? e.message : String(e);
  return text.replace(/\s*\n\s*/g, " ").trim();
}

async function orStartFailed<T>(debug: boolean, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    throw new StartFailed(e, debug);
  }
}

/** --config, loaded once here at the edge (a .ts file needs an await) */
async function configFile(command: "server" | "agent", argv: string[], env: Record<string, string | undefined>): Promise<ConfigFile | undefined> {
  const path = configPath(command, argv, env);
  return path === "" ? undefined : loadConfigFile(path);
}

async function start(argv: string[], env: Record<string, string | undefined>): Promise<{ running: Running; log: Logger } | undefined> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(usage(version));
    return undefined;
  }
  if (command === "version" || command === "--version") {
    process.stdout.write(`alvd ${version} (commit ${commit}, ${buildTarget}, bun ${Bun.version}, ${process.platform}-${process.arch})\n`);
    return undefined;
  }
  if (command === "types") {
    const { configTypes } = await import("./config/types-file");
    process.stdout.write(await configTypes());
    return undefined;
  }
  if (isClientCommand(command)) {
    const { runClient } = await import("./cli/run");
    process.exitCode = await runClient(command, rest, env);
    return undefined;
  }
  if (command !== "server" && command !== "agent" && command !== "drain") {
    throw new ConfigError(`unknown command "${command}" (expected server, agent, drain, types, version or a client command; see alvd --help)`);
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(commandHelp(command));
    return undefined;
  }
  if (command === "drain") {
    const cfg = drainConfig(rest, env);
    const { runDrain } = await import("./cli/drain");
    process.exitCode = await runDrain(cfg);
    return undefined;
  }
  if (command === "server") {
    const cfg = serverConfig(rest, env, await configFile("server", rest, env));
    const log = createLogger(cfg.log).with({ component: "server" });
    const { runServer } = await import("./server/run");
    return { running: await orStartFailed(cfg.log.level === "debug", () => runServer(cfg, log)), log };
  }
  const cfg = agentConfig(rest, env, await configFile("agent", rest, env));
  const log = createLogger(cfg.log).with({ component: "agent" });
  const { runAgent } = await import("./agent/run");
  return { running: await orStartFailed(cfg.log.level === "debug", () => runAgent(cfg, log)), log };
}

async function main(): Promise<void> {
  let started: Awaited<ReturnType<typeof start>>;
  try {
    started = await start(process.argv.slice(2), process.env);
  } catch (e) {
    const { error, debug } = e instanceof StartFailed ? e : { error: e, debug: false };
    if (error instanceof ConfigError) {
      process.stderr.write(`alvd: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`alvd: failed to start: ${oneLine(error)}\n`);
    // the stack is for whoever debugs alvd itself, not for the operator's line above
    if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  }
  if (!started) return;
  const { running, log } = started;
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      log.warn("second signal: exiting without waiting", { signal });
      process.exit(1);
    }
    stopping = true;
    log.info("shutting down", { signal });
    running.stop().then(
      () => {
        log.info("stopped");
        process.exit(0);
      },
      (e: unknown) => {
        log.error("shutdown failed", { err: e as Error });
        process.exit(1);
      },
    );
  };
  process.on("SIGHUP", () => {
    log.info("SIGHUP: reloading API key files and the config file's hooks");
    running.reload();
  });
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("unhandledRejection", (e) => log.error("unhandled rejection", { err: e as Error }));
}

await main();
