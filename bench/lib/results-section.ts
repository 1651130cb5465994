// Writes one benchmark's section of bench/RESULTS.md between `<!-- name:begin -->` and
// `<!-- name:end -->`, replacing the previous run's section in place (or appending the
// first one), so the file keeps one current section per benchmark and nothing else moves.
import { existsSync, readFileSync, writeFileSync } from "node:fs";

export function replaceSection(file: string, name: string, body: string): void {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${begin}\n${body.trim()}\n${end}`;
  const prev = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmark results\n";
  const from = prev.indexOf(begin);
  const to = prev.indexOf(end);
  let next: string;
  if (from >= 0 && to > from) next = prev.slice(0, from) + block + prev.slice(to + end.length);
  else next = `${prev.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, next);
}
