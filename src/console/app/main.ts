// The console's shell: asks the server what the caller may do (Admin/Access), asks for
// an API key when the server wants one, and shows one page at a time (#/cluster,
// #/metrics, #/search, #/data, #/index, #/repair), each refreshing itself while shown.
import { api, failure, READ_TIMEOUT_MS, setKey, storedKey } from "./api";
import { badge, fill, h } from "./dom";
import { errorBox, type Access, type Ctx, type Page } from "./page";
import { clusterPage } from "./pages/cluster";
import { dataPage } from "./pages/data";
import { indexPage } from "./pages/index-actions";
import { metricsPage } from "./pages/metrics";
import { repairPage } from "./pages/repair";
import { searchPage } from "./pages/search";

const PAGES: Page[] = [clusterPage, metricsPage, searchPage, dataPage, indexPage, repairPage];

const nav = h("nav", { "aria-label": "pages" });
const who = h("div", { class: "who" });
const main = h("main");
document.body.replaceChildren(h("header", {}, h("a", { class: "brand", href: "#/cluster" }, "alvd", h("span", {}, " console")), nav, who), main);

let access: Access | undefined;
let leave = new AbortController();
let dimension: Promise<number | undefined> | undefined;

async function start(): Promise<void> {
  try {
    const a = await api.admin.access({}, { timeoutMs: READ_TIMEOUT_MS });
    access = { keysRequired: a.keysRequired, mayWrite: a.mayWrite };
  } catch (e) {
    access = undefined;
    if (failure(e).unauthenticated) return askForKey(storedKey() !== null ? e : undefined);
    fill(main, h("section", { class: "panel" }, h("h2", {}, "The server did not answer"), errorBox(e), h("button", { type: "button", class: "primary", onclick: () => void start() }, "Try again")));
    return;
  }
  showWho();
  show();
}

function askForKey(refused?: unknown): void {
  leave.abort();
  setKey(null);
  fill(nav);
  fill(who);
  const input = h("input", { type: "password", autocomplete: "off", placeholder: "API key", "aria-label": "API key" });
  const form = h(
    "form",
    { class: "panel key-form" },
    h("h2", {}, "This server asks for an API key"),
    h("p", {}, "Enter a read-write key, or a read-only key to search and look around. The key stays in this browser tab (session storage) and goes with every call as ", h("code", {}, "authorization: Bearer …"), "."),
    refused !== undefined ? errorBox(refused) : null,
    h("div", { class: "row" }, input, h("button", { type: "submit", class: "primary" }, "Use key")),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (input.value.trim() === "") return;
    setKey(input.value.trim());
    void start();
  });
  fill(main, form);
  input.focus();
}

function showWho(): void {
  if (access === undefined) return;
  const change = h("button", { type: "button", class: "secondary small", onclick: () => askForKey() }, "Change key");
  if (!access.keysRequired) fill(who, badge("open: no API keys", "warn"));
  else fill(who, access.mayWrite ? badge("read-write key", "ok") : badge("read-only key", "info"), change);
}

function route(): { page: Page; params: URLSearchParams } {
  const [path = "", query = ""] = location.hash.replace(/^#\/?/, "").split("?", 2);
  return { page: PAGES.find((p) => p.id === path) ?? PAGES[0]!, params: new URLSearchParams(query) };
}

function show(): void {
  if (access === undefined) return;
  leave.abort();
  leave = new AbortController();
  const signal = leave.signal;
  const { page, params } = route();
  fill(nav, PAGES.map((p) => h("a", { href: `#/${p.id}`, class: p === page ? "on" : "", "aria-current": p === page ? "page" : undefined }, p.title)));
  document.title = `${page.title} · alvd console`;
  const root = h("div", { class: `page page-${page.id}` });
  fill(main, root);
  const ctx: Ctx = {
    access,
    params,
    signal,
    go: (id, p) => {
      location.hash = `#/${id}${p ? `?${new URLSearchParams(p)}` : ""}`;
    },
    dimension: () => (dimension ??= readDimension()),
    every: (ms, fn) => {
      const tick = async () => {
        if (signal.aborted) return;
        if (!document.hidden) await fn().catch((e: unknown) => fill(root, errorBox(e)));
        if (!signal.aborted) setTimeout(tick, ms);
      };
      void tick();
    },
    unauthenticated: () => askForKey(),
  };
  page.mount(root, ctx);
}

async function readDimension(): Promise<number | undefined> {
  try {
    const p = await api.index.indexProperty({}, { timeoutMs: READ_TIMEOUT_MS });
    const d = Object.values(p.details).find((x) => x.dimension > 0)?.dimension;
    if (d === undefined) dimension = undefined;
    return d;
  } catch {
    dimension = undefined;
    return undefined;
  }
}

window.addEventListener("hashchange", show);
void start();
