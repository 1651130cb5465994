// --help text and the README flag table, both rendered from the flag table.
import { CLIENT_COMMANDS, CLIENT_FLAGS, type ClientCommand } from "./client-flags";
import { type Command, defaultOf, envName, type FlagSpec, flagsFor, helpOf } from "./flags";

export function usage(version: string): string {
  return `alvd ${version}: a Kubernetes-less distributed vector search engine speaking the Vald v1 API

Usage:
  alvd server [flags]   gateway: Vald v1 over gRPC, gRPC-web and Connect; agents dial in; embedded agent
  alvd agent [flags]    holds vectors, dials the server over a websocket tunnel
  alvd drain NAME       move every vector off agent NAME (before removing it) and wait until it holds none
  alvd types            print the TypeScript types of a --config file (alvd types > alvd.d.ts)
  alvd version          print version and build information
  alvd <command> --help flags of a command

Client commands (any Vald v1 server; -h/--host, -p/--port, --tls…, --api-key):
${clientCommandList()}

Every flag can also be set with an ALVD_<FLAG> environment variable (e.g. ALVD_TOKEN).
`;
}

function clientCommandList(): string {
  const rows = Object.entries(CLIENT_COMMANDS).map(([name, c]) => [`alvd ${name}${c.args ? ` ${c.args}` : ""}`, c.about] as const);
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([u, a]) => `  ${u.padEnd(w)}  ${a}`).join("\n");
}

function clientFlagsOf(command: ClientCommand): [string, FlagSpec<never, ClientCommand>][] {
  return Object.entries(CLIENT_FLAGS).filter(([, s]) => (s.commands as readonly string[]).includes(command)) as [string, FlagSpec<never, ClientCommand>][];
}

export function clientCommandHelp(command: ClientCommand): string {
  const rows = clientFlagsOf(command).map(([n, s]) => {
    const def = s.defaultFor?.[command] ?? s.default;
    const names = `${s.short ? `-${s.short}, ` : "    "}--${n}`;
    return [names, s.help + (def ? ` (default ${def})` : ""), s.env === false ? "" : ` [${envName(n)}]`] as const;
  });
  rows.push(["    --help", "this text", ""]);
  const w = Math.max(...rows.map((r) => r[0].length));
  const c = CLIENT_COMMANDS[command];
  const lines = rows.map(([f, h, e]) => `  ${f.padEnd(w)}  ${h}${e}`);
  return `Usage: alvd ${command}${c.args ? ` ${c.args}` : ""} [flags]\n\n${c.about}\n\nFlags:\n${lines.join("\n")}\n`;
}

/** The README's table of client flags: which commands take each one. */
export function clientMarkdownTable(): string {
  const head = "| flag | env | default | commands | meaning |\n|---|---|---|---|---|";
  const rows = Object.entries(CLIENT_FLAGS).map(([n, s]) => {
    const spec: FlagSpec<never, ClientCommand> = s as FlagSpec<never, ClientCommand>;
    const names = `${spec.short ? `\`-${spec.short}\` ` : ""}\`--${n}\``;
    const missing = Object.keys(CLIENT_COMMANDS).filter((c) => !(spec.commands as readonly string[]).includes(c));
    const cmds = missing.length === 0 ? "all" : missing.length === 1 ? `all but ${missing[0]}` : spec.commands.join(", ");
    return `| ${names} | ${spec.env === false ? "" : `\`${envName(n)}\``} | ${spec.default ? `\`${spec.default}\`` : ""} | ${cmds} | ${spec.help} |`;
  });
  return [head, ...rows].join("\n");
}

export function commandHelp(command: Command): string {
  const rows = flagsFor(command).map((n) => {
    const def = defaultOf(n, command);
    return [`--${n}`, helpOf(n, command) + (def ? ` (default ${def})` : ""), envName(n)] as const;
  });
  const w = Math.max(...rows.map((r) => r[0].length));
  const lines = rows.map(([f, h, e]) => `  ${f.padEnd(w)}  ${h} [${e}]`);
  const args = command === "drain" ? " NAME" : "";
  return `Usage: alvd ${command}${args} [flags]\n\nFlags:\n${lines.join("\n")}\n`;
}

/** Markdown table for the README; a test keeps the README's copy in sync. */
export function markdownTable(command: Command): string {
  const head = "| flag | env | default | meaning |\n|---|---|---|---|";
  const rows = flagsFor(command).map(
    (n) => `| \`--${n}\` | \`${envName(n)}\` | ${defaultOf(n, command) ? `\`${defaultOf(n, command)}\`` : ""} | ${helpOf(n, command)} |`,
  );
  return [head, ...rows].join("\n");
}
