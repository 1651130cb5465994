// Helpers for checking deployment files against the CLI: the flag table in
// src/config/flags.ts is the truth for flag names and default ports.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../../build";
import { type Command, defaultOf, FLAGS, type FlagName, flagsFor } from "../../src/config/flags";

export { ROOT };

export function readText(rel: string): string {
  return readFileSync(join(ROOT, rel), "utf8");
}

/** YAML file → documents (Bun.YAML returns an array for multi-document files). */
export function yamlDocs(rel: string): Record<string, any>[] {
  const parsed = Bun.YAML.parse(readText(rel)) as unknown;
  const docs = Array.isArray(parsed) ? parsed : [parsed];
  return docs.filter((d): d is Record<string, any> => d !== null && typeof d === "object");
}

/** argv after the command → flag values; throws on flags the command does not take. */
export function parseFlags(command: Command, args: string[]): Partial<Record<FlagName, string>> {
  const known = new Set<string>(flagsFor(command));
  const out: Partial<Record<FlagName, string>> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (!known.has(name)) throw new Error(`alvd ${command} has no flag --${name}`);
    let value: string;
    if (eq > 0) value = a.slice(eq + 1);
    else if (FLAGS[name as FlagName].default === "true" || FLAGS[name as FlagName].default === "false") value = "true";
    else value = args[++i] ?? "";
    out[name as FlagName] = value;
  }
  return out;
}

/** The value a flag takes with these args (the flag's default when absent). */
export function flagValue(command: Command, args: string[], name: FlagName): string {
  return parseFlags(command, args)[name] ?? defaultOf(name, command);
}

function portOf(hostPort: string): number {
  return Number(hostPort.slice(hostPort.lastIndexOf(":") + 1));
}

/** The ports a process listens on, by role, for a command line (defaults filled in). */
export function listenPorts(command: Command, args: string[], env: Record<string, string> = {}): Record<string, number> {
  const v = (n: FlagName) => parseFlags(command, args)[n] ?? env[`ALVD_${n.toUpperCase().replace(/-/g, "_")}`] ?? defaultOf(n, command);
  if (command === "server") {
    const ports: Record<string, number> = {
      grpc: Number(v("server-grpc-port")),
      tunnel: portOf(v("server")),
      metrics: Number(v("metrics-port")),
    };
    if (v("agent") !== "false") ports.agent = Number(v("grpc-port"));
    return ports;
  }
  return { grpc: Number(v("grpc-port")), metrics: Number(v("metrics-port")) };
}

/** The CLI's default ports: what the image exposes and what docs promise. */
export function defaultPorts(): { server: Record<string, number>; agent: Record<string, number> } {
  return { server: listenPorts("server", []), agent: listenPorts("agent", []) };
}

/** alvd_* metric names the sources register (name: "..." or the gauge("...") helper). */
export function registeredMetrics(): Set<string> {
  const names = new Set<string>();
  const glob = new Bun.Glob("src/**/*.ts");
  for (const f of glob.scanSync({ cwd: ROOT })) {
    for (const m of readFileSync(join(ROOT, f), "utf8").matchAll(/["'`](alvd_[a-z0-9_]+)["'`]/g)) names.add(m[1]!);
  }
  return names;
}

/** Metric names in a PromQL expression, with histogram/summary suffixes removed. */
export function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b(alvd_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ""));
}
