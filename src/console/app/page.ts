// What every page gets from the shell, and the few pieces they share: how a failed call
// is shown (its gRPC code and message), buttons that run a call, live refresh.
import { failure } from "./api";
import { h, type Child } from "./dom";

export interface Access {
  keysRequired: boolean;
  mayWrite: boolean;
}

export interface Ctx {
  readonly access: Access;
  /** the route's query: #/search?id=abc */
  readonly params: URLSearchParams;
  go(route: string, params?: Record<string, string>): void;
  /** the vectors' dimension, from the agents' IndexProperty; undefined while no agent answers */
  dimension(): Promise<number | undefined>;
  /** runs fn now and every ms while this page is shown and the tab is visible */
  every(ms: number, fn: () => Promise<void>): void;
  /** the key was refused: ask for another */
  unauthenticated(): void;
  /** aborted when the user leaves the page */
  readonly signal: AbortSignal;
}

export interface Page {
  id: string;
  title: string;
  mount(root: HTMLElement, ctx: Ctx): void;
}

/** "PERMISSION_DENIED: a read-only key may not call …" */
export function errorBox(e: unknown): HTMLElement {
  const f = failure(e);
  return h("div", { class: "failed", role: "alert" }, h("strong", { class: "code" }, f.code), " ", f.message);
}

export function ok(...children: Child[]): HTMLElement {
  return h("div", { class: "done" }, ...children);
}

/** what a call shows: a one-line summary, and optionally more below it */
export type Outcome = Child | { summary: Child; body: Child };

/**
 * A button that runs a call: disabled while it runs; what it returns (or the error)
 * goes into `out`. A refused key sends the user back to the key form.
 */
export function runButton(label: string, out: HTMLElement, ctx: Ctx, run: () => Promise<Outcome>, opts: { write?: boolean; class?: string } = {}): HTMLButtonElement {
  const denied = opts.write === true && !ctx.access.mayWrite;
  const b = h("button", { class: opts.class ?? "primary", type: "button", disabled: denied, title: denied ? "needs a read-write key" : undefined }, label);
  b.addEventListener("click", async () => {
    b.disabled = true;
    out.replaceChildren(h("div", { class: "muted" }, `${label}…`));
    const t0 = performance.now();
    try {
      const shown = await run();
      const took = h("span", { class: "muted" }, ` in ${(performance.now() - t0).toFixed(0)} ms`);
      const split = typeof shown === "object" && shown !== null && "summary" in shown;
      out.replaceChildren(ok(split ? shown.summary : shown, took));
      if (split) out.append(h("div", {}, shown.body));
    } catch (e) {
      out.replaceChildren(errorBox(e));
      if (failure(e).unauthenticated) ctx.unauthenticated();
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

/** the note a read-only key sees where writes would be */
export function readOnlyNote(ctx: Ctx, what: string): HTMLElement | null {
  if (ctx.access.mayWrite) return null;
  return h("p", { class: "note" }, `Read-only key: ${what} need a read-write key; the server answers PERMISSION_DENIED.`);
}

export function field(label: string, input: HTMLElement, hint?: string): HTMLElement {
  return h("label", { class: "field" }, h("span", {}, label), input, hint ? h("small", { class: "muted" }, hint) : null);
}
