// Rewrites the flag tables in README.md (between the alvd:flags markers) from the
// flag table in src/config/flags.ts. test/config/readme.test.ts fails when they drift.
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { clientMarkdownTable, markdownTable } from "../src/config/help";
import type { Command } from "../src/config/flags";

export function renderReadme(text: string): string {
  return text.replace(
    /(<!-- alvd:flags:(server|agent|drain|client) -->\n)(?:(?!<!--)[\s\S])*(<!-- \/alvd:flags -->)/g,
    (_m, open: string, cmd: string, close: string) => `${open}${cmd === "client" ? clientMarkdownTable() : markdownTable(cmd as Command)}\n${close}`,
  );
}

if (import.meta.main) {
  const path = resolve(import.meta.dir, "../README.md");
  writeFileSync(path, renderReadme(readFileSync(path, "utf8")));
}
