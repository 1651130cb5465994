// argv + environment + optional config file → validated flag values. Precedence:
// command line, then ALVD_* environment, then --config file, then defaults.
import { readFileSync } from "node:fs";
import { FLAGS, type Command, type FlagName, type FlagSpec, type FlagValues, defaultOf, envName, flagsFor } from "./flags";

/** A user mistake in flags, env or config; main prints the message and exits 2. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

type Raw = Partial<Record<FlagName, { value: string; from: string }>>;

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

/** JSON, or a flat YAML subset ("key: value" lines, # comments), keys as flag names. */
function readConfigFile(command: Command, path: string): Raw {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`--config: cannot read ${path}: ${(e as Error).message}`);
  }
  let entries: [string, unknown][];
  if (text.trimStart().startsWith("{")) {
    try {
      entries = Object.entries(JSON.parse(text) as Record<string, unknown>);
    } catch (e) {
      throw new ConfigError(`--config: ${path} is not valid JSON: ${(e as Error).message}`);
    }
  } else {
    entries = [];
    for (const [n, line] of text.split("\n").entries()) {
      const t = line.replace(/\s+#.*$/, "").trim();
      if (t === "" || t.startsWith("#")) continue;
      const m = /^([A-Za-z0-9_-]+)\s*:\s*(.*)$/.exec(t);
      if (!m) throw new ConfigError(`--config: ${path}:${n + 1}: expected "key: value"`);
      entries.push([m[1]!, m[2]!.replace(/^(["'])(.*)\1$/, "$2")]);
    }
  }
  const known = new Set<string>(flagsFor(command));
  const raw: Raw = {};
  for (const [key, value] of entries) {
    const name = key.replace(/_/g, "-") as FlagName;
    if (!known.has(name)) throw new ConfigError(`--config: ${path}: unknown key "${key}" for alvd ${command}`);
    raw[name] = { value: Array.isArray(value) ? value.join(",") : String(value), from: `${path}: ${key} (--${name})` };
  }
  return raw;
}

/** `positionals`: collects non-flag arguments (commands that take them) instead of refusing them */
export function parseFlags(command: Command, argv: string[], env: Record<string, string | undefined>, positionals?: string[]): FlagValues {
  const fromArgv = readArgv(command, argv, positionals);
  const fromEnv = readEnv(command, env);
  const configPath = fromArgv.config?.value ?? fromEnv.config?.value ?? "";
  const fromFile = configPath ? readConfigFile(command, configPath) : {};
  const out: Record<string, unknown> = {};
  for (const name of flagsFor(command)) {
    const given = fromArgv[name] ?? fromEnv[name] ?? fromFile[name];
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
