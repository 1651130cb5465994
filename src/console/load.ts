// The console for the server: the binary carries its files; a source tree builds them
// (about a second) when they are missing or older than the console's sources, so
// `bun src/main.ts server` always serves the console as it is in the tree.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { PageHandler } from "../rpc/listen";

// set by build.ts: the source-tree branch below is left out of the binary
declare const ALVD_BUILD_TARGET: string | undefined;

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

async function buildIfStale(): Promise<void> {
  const built = join(import.meta.dir, "dist", "index.html.gz");
  if (existsSync(built) && newest(join(import.meta.dir, "app")) <= statSync(built).mtimeMs) return;
  // a computed path, so no bundler ever takes the build script (and Bun.build) along
  const script = join(import.meta.dir, "build.ts");
  const { buildConsole } = (await import(script)) as typeof import("./build");
  await buildConsole();
}

export async function loadConsole(): Promise<PageHandler> {
  if (typeof ALVD_BUILD_TARGET !== "string") await buildIfStale();
  const { consolePages } = await import("./pages");
  return consolePages();
}
