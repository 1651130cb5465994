#!/usr/bin/env bun
// Builds the web console into src/console/dist/: the app bundled and minified for
// browsers, its stylesheet, and the page linking both by version, each gzipped (what
// the binary embeds and serves; pages.ts). build.ts runs it before every release build;
// a server started from source runs it when the files are missing or stale (load.ts).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { assetVersion } from "./asset-version";

const HERE = import.meta.dir;
const OUT = join(HERE, "dist");

export interface ConsoleAsset {
  name: string;
  bytes: number;
  gzipBytes: number;
}

async function bundle(entry: string): Promise<Uint8Array> {
  const r = await Bun.build({ entrypoints: [join(HERE, "app", entry)], target: "browser", format: "esm", minify: true, sourcemap: "none" });
  if (!r.success || r.outputs.length !== 1) throw new Error(`console: bundling ${entry} failed:\n${r.logs.map(String).join("\n")}`);
  return new Uint8Array(await r.outputs[0]!.arrayBuffer());
}

/** temp file + rename: a server starting meanwhile reads the old file or the new one */
function put(name: string, gz: Uint8Array): void {
  const tmp = join(OUT, `.${name}.${process.pid}.tmp`);
  writeFileSync(tmp, gz);
  renameSync(tmp, join(OUT, name));
}

const gzip = (b: Uint8Array) => Bun.gzipSync(b as Uint8Array<ArrayBuffer>, { level: 9 });

export async function buildConsole(): Promise<ConsoleAsset[]> {
  mkdirSync(OUT, { recursive: true });
  const [js, css] = await Promise.all([bundle("main.ts"), bundle("styles.css")]);
  const jsGz = gzip(js);
  const cssGz = gzip(css);
  const html = new TextEncoder().encode(
    readFileSync(join(HERE, "app", "index.html"), "utf8").replace("%JS_VERSION%", assetVersion(jsGz)).replace("%CSS_VERSION%", assetVersion(cssGz)),
  );
  const htmlGz = gzip(html);
  put("app.js.gz", jsGz);
  put("app.css.gz", cssGz);
  put("index.html.gz", htmlGz);
  return [
    { name: "app.js", bytes: js.byteLength, gzipBytes: jsGz.byteLength },
    { name: "app.css", bytes: css.byteLength, gzipBytes: cssGz.byteLength },
    { name: "index.html", bytes: html.byteLength, gzipBytes: htmlGz.byteLength },
  ];
}

if (import.meta.main) {
  try {
    const assets = await buildConsole();
    const total = assets.reduce((n, a) => n + a.gzipBytes, 0);
    console.log(`console: ${assets.map((a) => `${a.name} ${(a.bytes / 1024).toFixed(1)} KiB (${(a.gzipBytes / 1024).toFixed(1)} KiB gzipped)`).join(", ")}; ${(total / 1024).toFixed(1)} KiB embedded`);
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
