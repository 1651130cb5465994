// The web console's three files, embedded in the binary and served by plain GET on the
// gateway port. build.ts (src/console/build.ts) makes them gzipped into dist/; they are
// read on the first request. The files hold no data: every figure on the page comes from
// the gateway's API, through its key checks, so the page itself is public.
import { readFileSync } from "node:fs";
import type { PageHandler, PageResponse } from "../rpc/listen";
import { assetVersion } from "./asset-version";
import css from "./dist/app.css.gz" with { type: "file" };
import js from "./dist/app.js.gz" with { type: "file" };
import html from "./dist/index.html.gz" with { type: "file" };

interface Asset {
  type: string;
  gz: Uint8Array<ArrayBuffer>;
  plain?: Uint8Array;
  etag: string;
}

// The page may talk to its own origin only: no CDN, no third-party requests, no framing.
const SECURITY = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

function load(path: string, type: string): Asset {
  const gz = new Uint8Array(readFileSync(path));
  return { type, gz, etag: `"${assetVersion(gz)}"` };
}

export function consolePages(): PageHandler {
  let assets: Record<string, Asset> | undefined;
  const files = () => {
    if (assets) return assets;
    const page = load(html, "text/html; charset=utf-8");
    return (assets = {
      "/": page,
      "/console": page,
      "/console/": page,
      "/console/app.js": load(js, "text/javascript; charset=utf-8"),
      "/console/app.css": load(css, "text/css; charset=utf-8"),
    });
  };
  return (url, header) => {
    const [path = "", query = ""] = url.split("?", 2);
    if (path !== "/" && path !== "/console" && !path.startsWith("/console/")) return undefined;
    const a = files()[path];
    if (a === undefined) return { status: 404, headers: { "content-type": "text/plain; charset=utf-8", ...SECURITY }, body: new TextEncoder().encode("not found\n") };
    // The page itself is revalidated on every load; what it links carries its version
    // in the URL, so those stay cached until a new build changes the link.
    const pinned = query === `v=${a.etag.slice(1, -1)}`;
    const headers: Record<string, string> = {
      "content-type": a.type,
      "cache-control": pinned ? "public, max-age=31536000, immutable" : "no-cache",
      etag: a.etag,
      vary: "accept-encoding",
      ...SECURITY,
    };
    if (header("if-none-match") === a.etag) return { status: 304, headers };
    let body: Uint8Array = a.gz;
    if (/\bgzip\b/.test(header("accept-encoding") ?? "")) headers["content-encoding"] = "gzip";
    else body = a.plain ??= Bun.gunzipSync(a.gz);
    headers["content-length"] = String(body.byteLength);
    return { status: 200, headers, body } satisfies PageResponse;
  };
}
