// Building the page without a framework: elements from a tag, attributes and children,
// and figures written the way an operator reads them.

export type Child = Node | string | number | false | null | undefined | Child[];

type Attrs = Record<string, string | number | boolean | EventListener | undefined>;

/** h("button", { class: "primary", onclick: go }, "Search") */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
}

/** replaces el's children */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** a titled panel */
export function panel(title: string, ...children: Child[]): HTMLElement {
  return h("section", { class: "panel" }, h("h2", {}, title), ...children);
}

/** a row of figure cards */
export function cards(items: [label: string, value: Child, hint?: string][]): HTMLElement {
  return h("div", { class: "cards" }, items.map(([label, value, hint]) => h("div", { class: "card" }, h("div", { class: "label" }, label), h("div", { class: "value" }, value), hint ? h("div", { class: "hint" }, hint) : null)));
}

/** a table; with `cards`, one card per row on narrow screens (labels from the header) */
export function table(head: string[], rows: Child[][], opts: { empty?: string; class?: string; cards?: boolean } = {}): HTMLElement {
  if (rows.length === 0) return h("p", { class: "muted" }, opts.empty ?? "nothing to show");
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: `${opts.cards ? "cards-on-mobile " : ""}${opts.class ?? ""}` },
      h("thead", {}, h("tr", {}, head.map((t) => h("th", {}, t)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c, i) => h("td", { "data-label": head[i] ?? "" }, opts.cards ? h("div", {}, c) : c))))),
    ),
  );
}

export function badge(text: string, tone: "ok" | "warn" | "bad" | "info" | "muted"): HTMLElement {
  return h("span", { class: `badge ${tone}` }, text);
}

export const num = (n: number | bigint) => Number(n).toLocaleString("en-US");

export function bytes(n: number | bigint): string {
  let v = Number(n);
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 || u === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

/** a span of time: "12 s", "4 min 10 s", "3 h 5 min", "2 d 4 h" */
export function span(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const hr = Math.floor(m / 60);
  if (hr < 24) return `${hr} h ${m % 60} min`;
  return `${Math.floor(hr / 24)} d ${hr % 24} h`;
}

export function ago(ms: number): string {
  if (ms < 10_000) return `${(Math.max(0, ms) / 1000).toFixed(1)} s ago`;
  return `${span(ms)} ago`;
}

/** seconds → "0.42 ms", "12 ms", "1.20 s" */
export function latency(seconds: number): string {
  const ms = seconds * 1000;
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : ms.toFixed(0)} ms`;
  return `${seconds.toFixed(2)} s`;
}

export function rate(perSecond: number): string {
  if (perSecond === 0) return "0";
  if (perSecond < 10) return perSecond.toFixed(1);
  return num(Math.round(perSecond));
}
