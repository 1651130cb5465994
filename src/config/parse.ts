// argv + environment + config file sections → validated flag values. Precedence:
// command line, then ALVD_* environment, then the --config file (loaded by file.ts,
// which main.ts awaits), then defaults.
import { FLAGS, type Command, type FlagTable, type FlagValues, envName } from "./flags";

/** A user mistake in flags, env or config; main prints the message and exits 2. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** raw flag values with where each came from (for the error message) */
export type Raw = Partial<Record<string, { value: string; from: string }>>;

function namesOf(table: FlagTable, command: string): string[] {
  return Object.keys(table).filter((n) => table[n]!.commands.includes(command));
}

function defaultIn(table: FlagTable, name: string, command: string): string {
  const spec = table[name]!;
  return spec.defaultFor?.[command] ?? spec.default;
}

function isBoolFlag(spec: { default: string }): boolean {
  return spec.default === "true" || spec.default === "false";
}

/** `positionals` undefined: none allowed (server, agent); otherwise collects them (drain, client commands). */
function readArgv(table: FlagTable, command: string, argv: string[], positionals?: string[]): Raw {
  const known = new Set<string>(namesOf(table, command));
  const shorts = new Map<string, string>();
  for (const n of known) if (table[n]!.short) shorts.set(table[n]!.short!, n);
  const raw: Raw = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (positionals && arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    const short = positionals && /^-[A-Za-z](=|$)/.test(arg) ? shorts.get(arg[1]!) : undefined;
    if (!arg.startsWith("--") && short === undefined) {
      if (positionals && !/^-[A-Za-z]/.test(arg)) {
        positionals.push(arg);
        continue;
      }
      if (positionals) throw new ConfigError(`unknown flag ${arg.split("=")[0]} for alvd ${command} (see alvd ${command} --help)`);
      throw new ConfigError(`unexpected argument "${arg}" for alvd ${command} (see alvd ${command} --help)`);
    }
    const eq = arg.indexOf("=");
    const name = short ?? (eq >= 0 ? arg.slice(2, eq) : arg.slice(2));
    if (!known.has(name)) {
      throw new ConfigError(`unknown flag --${name} for alvd ${command} (see alvd ${command} --help)`);
    }
    const spec = table[name]!;
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (isBoolFlag(spec)) {
      const next = argv[i + 1];
      value = next !== undefined && /^(true|false)$/i.test(next) ? (i++, next) : "true";
    } else {
      const next = argv[i + 1];
      if (next === undefined) throw new ConfigError(`--${name}: missing value`);
      value = next;
      i++;
    }
    const before = raw[name];
    raw[name] = spec.repeatable && before ? { value: `${before.value},${value}`, from: `--${name}` } : { value, from: `--${name}` };
  }
  return raw;
}

function readEnv(table: FlagTable, command: string, env: Record<string, string | undefined>): Raw {
  const raw: Raw = {};
  for (const name of namesOf(table, command)) {
    if (table[name]!.env === false) continue;
    const value = env[envName(name)];
    if (value !== undefined) raw[name] = { value, from: `${envName(name)} (--${name})` };
  }
  return raw;
}

/** Validates every flag of `command` in `table`: command line, then environment, then `file` (first section that sets it), then defaults. */
function validate(table: FlagTable, command: string, fromArgv: Raw, fromEnv: Raw, file: readonly Raw[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of namesOf(table, command)) {
    const given = fromArgv[name] ?? fromEnv[name] ?? file.find((l) => l[name] !== undefined)?.[name];
    const value = given?.value ?? defaultIn(table, name, command);
    const spec = table[name]!;
    const r = spec.schema.safeParse(value);
    if (!r.success) {
      const why = r.error.issues[0]?.message ?? "invalid value";
      const got = spec.secret ? "" : ` (got "${value}")`;
      throw new ConfigError(`${given?.from ?? `--${name}`}: ${why}${got}`);
    }
    out[name] = r.data;
  }
  return out;
}

/** --config as the command line or the environment gives it ("" = none) */
export function configPath(command: "server" | "agent", argv: string[], env: Record<string, string | undefined>): string {
  return readArgv(FLAGS, command, argv).config?.value ?? readEnv(FLAGS, command, env).config?.value ?? "";
}

/**
 * `positionals`: collects non-flag arguments (commands that take them) instead of
 * refusing them. `file`: config file sections, the first that sets a flag wins.
 */
export function parseFlags(command: Command, argv: string[], env: Record<string, string | undefined>, positionals?: string[], file: readonly Raw[] = []): FlagValues {
  return validate(FLAGS, command, readArgv(FLAGS, command, argv, positionals), readEnv(FLAGS, command, env), file) as FlagValues;
}

/**
 * The same rules for another table (the client commands'): long flags, one-letter
 * aliases, and positional arguments (after "--" too), with no --config file.
 */
export function parseCommandLine(table: FlagTable, command: string, argv: string[], env: Record<string, string | undefined>): { values: Record<string, unknown>; args: string[] } {
  const args: string[] = [];
  const fromArgv = readArgv(table, command, argv, args);
  return { values: validate(table, command, fromArgv, readEnv(table, command, env), []), args };
}
