// Debian's chromium, headless, driven by playwright-core (which downloads no browser),
// for the console tests: a page that records everything the browser would complain
// about (console errors, uncaught exceptions, failed requests, HTTP errors) and saves
// screenshots under test/console/screenshots/ (git-ignored) for a person to look at.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
export const SHOTS = join(import.meta.dir, "screenshots");

// without the background-networking flags chromium dials Google's hosts at every start
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** playwright gives every launch a fresh, empty --user-data-dir of its own; on a loaded 2-core box Chromium can take most of a minute to come up */
export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 90_000 });
}

export interface Watched {
  page: Page;
  /** what went wrong in the browser so far, one line each */
  problems: string[];
  shot(name: string): Promise<void>;
  close(): Promise<void>;
}

export async function openPage(browser: Browser, viewport: { width: number; height: number }, opts: { https?: boolean } = {}): Promise<Watched> {
  const context = await browser.newContext({ viewport, ignoreHTTPSErrors: opts.https ?? false });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`uncaught: ${e.message}`));
  page.on("requestfailed", (r) => {
    // a stream the page cancels on purpose (Browse stops after 20) is not a failure
    if (!/ERR_ABORTED/.test(r.failure()?.errorText ?? "")) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  // network errors the browser logs itself (they never reach page.on("console"))
  const cdp = await context.newCDPSession(page);
  await cdp.send("Log.enable");
  cdp.on("Log.entryAdded", ({ entry }) => {
    if (entry.level === "error") problems.push(`log (${entry.source}): ${entry.text} ${entry.url ?? ""}`);
  });
  mkdirSync(SHOTS, { recursive: true });
  const tag = `${viewport.width}x${viewport.height}`;
  return {
    page,
    problems,
    shot: (name) => page.screenshot({ path: join(SHOTS, `${tag}-${name}.png`), fullPage: true }).then(() => undefined),
    close: () => context.close(),
  };
}
