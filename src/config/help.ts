// --help text and the README flag table, both rendered from the flag table.
import { type Command, defaultOf, envName, flagsFor, helpOf } from "./flags";

export function usage(version: string): string {
  return `alvd ${version}: a Kubernetes-less distributed vector search engine speaking the Vald v1 API

Usage:
  alvd server [flags]   gateway: Vald v1 over gRPC, gRPC-web and Connect; agents dial in; embedded agent
  alvd agent [flags]    holds vectors, dials the server over a websocket tunnel
  alvd drain NAME       move every vector off agent NAME (before removing it) and wait until it holds none
  alvd types            print the TypeScript types of a --config file (alvd types > alvd.d.ts)
  alvd version          print version and build information
  alvd <command> --help flags of a command

Every flag can also be set with an ALVD_<FLAG> environment variable (e.g. ALVD_TOKEN).
`;
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
