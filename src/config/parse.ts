// argv + environment + config file sections → validated flag values. Precedence:
// command line, then ALVD_* environment, then the --config file (loaded by file.ts,
// which main.ts awaits), then defaults.
import { FLAGS, type Command, type FlagName, type FlagSpec, type FlagValues, defaultOf, envName, flagsFor } from "./flags";

/** A user mistake in flags, env or config; main prints the message and exits 2. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** raw flag values with where each came from (for the error message) */
export type Raw = Partial<Record<FlagName, { value: string; from: string }>>;

function isBoolFlag(name: FlagName): boolean {
  return FLAGS[name].default === "true" || FLAGS[name].default === "false";
}

function readArgv(command: Command, argv: string[], positionals?: string[]): Raw {
  const known = new Set<string>(flagsFor(command));
  const raw: Raw = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) {
      if (positionals !== undefined) {
        positionals.push(arg);
        continue;
      }
      throw new ConfigError(`unexpected argument "${arg}" for alvd ${command} (see alvd ${command} --help)`);
    }
    const eq = arg.indexOf("=");
    const name = (eq >= 0 ? arg.slice(2, eq) : arg.slice(2)) as FlagName;
    if (!known.has(name)) {
      throw new ConfigError(`unknown flag --${name} for alvd ${command} (see alvd ${command} --help)`);
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (isBoolFlag(name)) {
      const next = argv[i + 1];
      value = next !== undefined && /^(true|false)$/i.test(next) ? (i++, next) : "true";
    } else {
      const next = argv[i + 1];
      if (next === undefined) throw new ConfigError(`--${name}: missing value`);
      value = next;
      i++;
    }
    const before = raw[name];
    raw[name] = FLAGS[name].repeatable && before ? { value: `${before.value},${value}`, from: `--${name}` } : { value, from: `--${name}` };
  }
  return raw;
}

function readEnv(command: Command, env: Record<string, string | undefined>): Raw {
  const raw: Raw = {};
  for (const name of flagsFor(command)) {
    const value = env[envName(name)];
    if (value !== undefined) raw[name] = { value, from: `${envName(name)} (--${name})` };
  }
  return raw;
}

/** --config as the command line or the environment gives it ("" = none) */
export function configPath(command: "server" | "agent", argv: string[], env: Record<string, string | undefined>): string {
  return readArgv(command, argv).config?.value ?? readEnv(command, env).config?.value ?? "";
}

/**
 * `positionals`: collects non-flag arguments (commands that take them) instead of
 * refusing them. `file`: config file sections, the first that sets a flag wins.
 */
export function parseFlags(command: Command, argv: string[], env: Record<string, string | undefined>, positionals?: string[], file: readonly Raw[] = []): FlagValues {
  const fromArgv = readArgv(command, argv, positionals);
  const fromEnv = readEnv(command, env);
  const out: Record<string, unknown> = {};
  for (const name of flagsFor(command)) {
    const given = fromArgv[name] ?? fromEnv[name] ?? file.find((l) => l[name] !== undefined)?.[name];
    const value = given?.value ?? defaultOf(name, command);
    const spec: FlagSpec = FLAGS[name];
    const r = spec.schema.safeParse(value);
    if (!r.success) {
      const why = r.error.issues[0]?.message ?? "invalid value";
      const got = spec.secret ? "" : ` (got "${value}")`;
      throw new ConfigError(`${given?.from ?? `--${name}`}: ${why}${got}`);
    }
    out[name] = r.data;
  }
  return out as FlagValues;
}
