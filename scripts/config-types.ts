// Writes the types of alvd.config.ts as one self-contained declaration file (users of the
// binary have no node_modules): the settings from the flag table, the hooks from
// src/config/api.ts, and the protobuf messages and Connect types those name, copied from
// their sources with the TypeScript compiler. `bun scripts/gen.ts` runs it; `alvd types`
// prints the result; examples/ are checked against it.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import ts from "typescript";
import { FLAGS, type Command, type FlagName, defaultOf, envName, flagsFor, helpOf } from "../src/config/flags";
import * as v from "../src/config/values";
import { USER_MODULE_EXPORTS } from "../src/config/user-module";

const root = resolve(import.meta.dir, "..");

interface Decl {
  name: string;
  text: string;
  refs: string[];
  /** exported from "alvd" (else only named by other declarations) */
  exported: boolean;
  /** an enum or class: a value at run time too */
  value: boolean;
}

/** Drops protoc-gen-es's "@generated from" lines (the wire names) and the doc blocks left empty. */
function tidyDoc(text: string): string {
  return text
    .replace(/^[ \t]*\*[ \t]*@generated from [^\n]*\n/gm, "")
    .replace(/^([ \t]*\*[ \t]*\n)+(?=[ \t]*\*\/)/gm, "")
    .replace(/^[ \t]*\/\*\*\s*\*\/\n?/gm, "")
    .replace(/(\/\*\*\n)([ \t]*\*[ \t]*\n)+/g, "$1")
    .replace(/\n{3,}/g, "\n\n");
}

/** Top-level type, interface, enum and class declarations of a file, with the names they refer to. */
function declarations(file: string, exported: (name: string) => boolean): Map<string, Decl> {
  const path = resolve(root, file);
  const sf = ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest, true);
  const out = new Map<string, Decl>();
  for (const node of sf.statements) {
    if (!(ts.isTypeAliasDeclaration(node) || ts.isInterfaceDeclaration(node) || ts.isEnumDeclaration(node) || ts.isClassDeclaration(node)) || !node.name) continue;
    const refs: string[] = [];
    const walk = (n: ts.Node) => {
      if (ts.isTypeReferenceNode(n) && ts.isIdentifier(n.typeName)) refs.push(n.typeName.text);
      if (ts.isExpressionWithTypeArguments(n) && ts.isIdentifier(n.expression)) refs.push(n.expression.text);
      ts.forEachChild(n, walk);
    };
    walk(node);
    const name = node.name.text;
    const doc = tidyDoc(sf.text.slice(node.getStart(sf, true), node.getStart(sf)));
    const body = tidyDoc(sf.text.slice(node.getStart(sf), node.end).replace(/^export (declare )?|^declare /, ""));
    const isValue = ts.isEnumDeclaration(node) || ts.isClassDeclaration(node);
    const exp = exported(name);
    out.set(name, { name, text: doc + (exp ? "export " : "") + body, refs, exported: exp, value: isValue });
  }
  return out;
}

/** The settings' types, from what each flag's schema accepts. */
function settingType(name: FlagName, command: Command): string {
  const s = FLAGS[name].schema as unknown;
  if (s === v.bool) return "boolean";
  if (s === v.port) return "number";
  if (s === v.duration || s === v.positiveDuration) return "Duration";
  if (s === v.keyList) return "string | string[]";
  if (s === v.host || s === v.text) return /comma-separated/.test(helpOf(name, command)) ? "string | string[]" : "string";
  const probe = FLAGS[name].schema.safeParse("\u0000");
  const choices = probe.success ? undefined : /^expected one of: (.*)$/.exec(probe.error.issues[0]?.message ?? "")?.[1];
  if (choices !== undefined) return choices.split(", ").map((c) => JSON.stringify(c)).join(" | ");
  if (/^\d+$/.test(defaultOf(name, command))) return "number";
  if (FLAGS[name].schema.safeParse(defaultOf(name, command)).success) return "number | string";
  throw new Error(`config-types: no setting type for --${name}`);
}

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function setting(n: FlagName, command: Command): string {
  const def = defaultOf(n, command);
  const doc = `${helpOf(n, command)}${def !== "" ? ` (default ${def})` : ""}; --${n}, ${envName(n)}`;
  return `  /** ${doc.replace(/\*\//g, "*\\/")} */\n  ${camel(n)}?: ${settingType(n, command)};`;
}

/** Settings both commands take alike (same help, default and type) are declared once, in CommonSettings. */
function settings(): string {
  const both = (n: FlagName) => n !== "config" && flagsFor("agent").includes(n) && flagsFor("server").includes(n) && setting(n, "server") === setting(n, "agent");
  const of = (command: Command, keep: (n: FlagName) => boolean) => flagsFor(command).filter((n) => n !== "config" && keep(n)).map((n) => setting(n, command)).join("\n");
  return [
    `/** Settings of both \`alvd server\` and \`alvd agent\`: their flags in camelCase. */\nexport interface CommonSettings {\n${of("server", both)}\n}`,
    `/** Settings of \`alvd server\` (flags in camelCase). */\nexport interface ServerSettings extends CommonSettings {\n${of("server", (n) => !both(n))}\n}`,
    `/** Settings of \`alvd agent\` (flags in camelCase). */\nexport interface AgentSettings extends CommonSettings {\n${of("agent", (n) => !both(n))}\n}`,
  ].join("\n\n");
}

const PREAMBLE = `/** A Go-style duration: "500ms", "5s", "1m30s", "1h"; "0" = off. */
export type Duration = \`\${number}\${"ns" | "us" | "\\u00b5s" | "ms" | "s" | "m" | "h"}\${string}\` | "0";

/** The server section: settings of \`alvd server\` (its embedded agent's too) and the hooks. */
export interface ServerSection extends ServerSettings, ServerHooks {}

/** The agent section: settings of \`alvd agent\`, and of the server's embedded agent (over the server section's). */
export type AgentSection = AgentSettings;

/** What alvd.config.ts exports by default (alvd's layout). Flags and ALVD_* env override it. */
export interface AlvdConfig {
  server?: ServerSection;
  agent?: AgentSection;
}

/** Returns its argument; it is there so that an editor checks and completes the config. */
export function defineConfig(config: AlvdConfig): AlvdConfig;

/** The error a hook throws to answer with a status code of its choice (Connect's own class). */
export class ConnectError extends Error {
  constructor(message: string, code?: Code);
  readonly code: Code;
  /** the message without the "[code]" prefix */
  readonly rawMessage: string;
}`;

export function configTypes(): string {
  const exportedPayload = (n: string) => n !== "Message";
  const pool = new Map<string, Decl>([
    ...declarations("node_modules/@bufbuild/protobuf/dist/esm/wire/binary-encoding.d.ts", () => false),
    ...declarations("node_modules/@bufbuild/protobuf/dist/esm/types.d.ts", () => false),
    ...declarations("node_modules/@connectrpc/connect/dist/esm/code.d.ts", () => true),
    ...declarations("src/gen/payload/v1/payload_pb.ts", exportedPayload),
  ]);
  const api = declarations("src/config/api.ts", () => true);
  const chosen = new Map<string, Decl>();
  const visit = (name: string) => {
    const d = pool.get(name);
    if (d === undefined || chosen.has(name)) return;
    chosen.set(name, d);
    d.refs.forEach(visit);
  };
  for (const d of api.values()) d.refs.forEach(visit);
  visit("Code");
  for (const d of chosen.values()) {
    // a value the d.ts promises must exist in the module at run time
    if (d.exported && d.value && !Object.hasOwn(USER_MODULE_EXPORTS, d.name)) throw new Error(`config-types: ${d.name} is declared but src/config/user-module.ts does not export it`);
  }
  const parts = [
    PREAMBLE,
    settings(),
    ...[...api.values()].map((d) => d.text),
    ...[...chosen.values()].map((d) => d.text),
  ];
  const body = parts.join("\n\n").split("\n").map((l) => (l === "" ? l : `  ${l}`)).join("\n");
  // ASCII only: the binary embeds this text, and one other character would double its size there
  const ascii = body.replace(/—/g, "-").replace(/…/g, "...");
  const odd = /[^\x00-\x7f]/.exec(ascii);
  if (odd) throw new Error(`config-types: non-ASCII character ${JSON.stringify(odd[0])} in the types; spell it in ASCII`);
  return `// Types of an alvd.config.ts: settings, hooks and the protobuf messages they see.
// Generated by \`bun run gen\` (scripts/config-types.ts); \`alvd types > alvd.d.ts\` prints it.
// Put it next to the config and start the config with:  /// <reference path="./alvd.d.ts" />
declare module "alvd" {
  // only what is marked export below is the module's
  export {};

${ascii}
}

declare module "alvd/config" {
  export * from "alvd";
}
`;
}

if (import.meta.main) process.stdout.write(configTypes());
