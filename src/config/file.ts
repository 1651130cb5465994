// --config FILE: alvd's layout, `{ server: {...}, agent: {...} }`, from TypeScript or
// JavaScript (a user's module imported at run time, outside the bundle), JSON or YAML.
// Keys are flag names in camelCase; their values go through the very schemas flags do
// (parse.ts), so a file gets the same checks and messages, with the file and key named.
import { readFileSync } from "node:fs";
import { extname, resolve } from "node:path";
import type { ServerHooks } from "./api";
import { type Command, type FlagName, flagsFor } from "./flags";
import { ConfigError, type Raw } from "./parse";

export type Section = "server" | "agent";

export interface ConfigFile {
  /** as given (messages name it so) */
  path: string;
  sections: Record<Section, Record<string, unknown>>;
}

/** every hook a server section may hold (keys of ServerHooks) */
const HOOKS: Record<keyof ServerHooks, true> = {
  searchQueryInterceptor: true,
  searchResultInterceptor: true,
  insertDataInterceptor: true,
  updateDataInterceptor: true,
  upsertDataInterceptor: true,
  removeDataInterceptor: true,
  vectorizer: true,
};
const isHook = (key: string): key is keyof ServerHooks => Object.hasOwn(HOOKS, key);

const SCRIPT = new Set([".ts", ".mts", ".js", ".mjs", ".cjs", ".cts"]);
const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
/** "server_grpc_port", "server-grpc-port", "serverGrpcPort" → "servergrpcport" */
const loose = (key: string) => key.replace(/[-_]/g, "").toLowerCase();

/** Modules the user's file imported (absolute paths), dropped from the module cache before a reload. */
const owned = new Set<string>();

async function importScript(path: string): Promise<unknown> {
  const { registerUserModule } = await import("./user-module");
  registerUserModule();
  // A reload must see edits to the file and to what it imports: forget what it loaded.
  for (const k of owned) delete require.cache[k];
  const before = new Set(Object.keys(require.cache));
  try {
    const mod = (await import(path)) as { default?: unknown };
    if (mod.default === undefined) throw new ConfigError(`--config: ${path} has no default export: end it with \`export default defineConfig({ server: {...}, agent: {...} })\``);
    return mod.default;
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`--config: ${path} failed to load: ${loadError(e)}`);
  } finally {
    for (const k of Object.keys(require.cache)) if (!before.has(k) && k.startsWith("/")) owned.add(k);
  }
}

/** Bun reports a file that does not compile as an AggregateError of positioned messages: the first says where. */
function loadError(e: unknown): string {
  const first = (e as { errors?: { message?: string; position?: { file?: string; line?: number; column?: number } }[] }).errors?.[0];
  const at = first?.position;
  const why = first?.message !== undefined ? `${at ? `${at.file}:${at.line}:${at.column}: ` : ""}${first.message}` : e instanceof Error ? e.message : String(e);
  return why.replace(/\s*\n\s*/g, " ");
}

function parseText(path: string, ext: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`--config: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return ext === ".json" ? JSON.parse(text) : Bun.YAML.parse(text);
  } catch (e) {
    throw new ConfigError(`--config: ${path} is not valid ${ext === ".json" ? "JSON" : "YAML"}: ${(e as Error).message}`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Loads and checks the layout (not the values: serverConfig/agentConfig do, per section). */
export async function loadConfigFile(path: string): Promise<ConfigFile> {
  const ext = extname(path).toLowerCase();
  let top: unknown;
  if (SCRIPT.has(ext)) top = await importScript(resolve(path));
  else if (ext === ".json" || ext === ".yaml" || ext === ".yml") top = parseText(path, ext);
  else throw new ConfigError(`--config: ${path}: expected a .ts, .js, .mjs, .json, .yaml or .yml file`);
  if (top === null || top === undefined) top = {};
  if (!isObject(top)) throw new ConfigError(`--config: ${path}: expected an object with server and agent sections`);
  const sections: ConfigFile["sections"] = { server: {}, agent: {} };
  const flags = new Set(flagsFor("server").concat(flagsFor("agent")).map((f) => loose(f)));
  for (const [key, value] of Object.entries(top)) {
    if (key === "server" || key === "agent") {
      if (value === null || value === undefined) continue;
      if (!isObject(value)) throw new ConfigError(`--config: ${path}: ${key}: expected an object of settings`);
      sections[key] = value;
    } else if (flags.has(loose(key))) {
      // The flat layout of alvd before 0.2: refused rather than guessed at, since
      // `server` is both a section and a flag.
      throw new ConfigError(`--config: ${path}: "${key}" is at the top level; settings go in a server or agent section, e.g. server: { ${camel(key.replace(/_/g, "-"))}: ... }`);
    } else {
      throw new ConfigError(`--config: ${path}: unknown key "${key}" (expected server and agent sections)`);
    }
  }
  return { path, sections };
}

function flagValue(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if ((typeof v === "number" && Number.isFinite(v)) || typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === "string" || typeof x === "number")) return v.join(",");
  return undefined;
}

/**
 * A section's settings as flag values for `command`, every key checked: unknown keys
 * (with the camelCase spelling when only that is wrong), values of the wrong kind,
 * hooks anywhere but in the server section.
 */
export function sectionFlags(file: ConfigFile, section: Section, command: Command): Raw {
  const names = new Map<string, FlagName>();
  for (const f of flagsFor(command)) if (f !== "config") names.set(camel(f), f);
  const raw: Raw = {};
  for (const [key, value] of Object.entries(file.sections[section])) {
    const at = `${file.path}: ${section}.${key}`;
    if (isHook(key)) {
      if (section !== "server") throw new ConfigError(`${at}: hooks go in the server section`);
      if (typeof value !== "function" && value !== undefined) throw new ConfigError(`${at}: expected a function`);
      continue;
    }
    const name = names.get(key);
    if (name === undefined) {
      const near = [...names.keys()].find((k) => loose(k) === loose(key));
      const hint = near !== undefined ? ` (write it as ${near})` : key === "config" ? " (a config file cannot name another)" : "";
      throw new ConfigError(`${at}: unknown setting for alvd ${command}${hint}`);
    }
    if (value === undefined) continue;
    const text = flagValue(value);
    if (text === undefined) throw new ConfigError(`${at} (--${name}): expected a string, number or boolean`);
    raw[name] = { value: text, from: `${at} (--${name})` };
  }
  return raw;
}

/** The server section's hooks (checked by sectionFlags to be functions). */
export function hooksOf(file: ConfigFile | undefined): ServerHooks {
  const hooks: Record<string, unknown> = {};
  if (file !== undefined) for (const [key, value] of Object.entries(file.sections.server)) if (isHook(key) && typeof value === "function") hooks[key] = value;
  return hooks as ServerHooks;
}

/** The settings of a section without its hooks, to tell whether a reload changed any. */
export function settingsOf(file: ConfigFile): string {
  const plain = (s: Record<string, unknown>) => Object.entries(s).filter(([k]) => !isHook(k)).map(([k, v]) => [k, flagValue(v) ?? typeof v]);
  return JSON.stringify({ server: plain(file.sections.server), agent: plain(file.sections.agent) });
}
