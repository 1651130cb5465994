// Metrics: calls per second and p50/p99 latency per RPC family, and inserted vectors per
// second, from the server's own counters (Admin/Rates keeps the last minutes, so the
// charts are full on arrival; afterwards only new windows are fetched).
import type { RateWindow } from "../../../gen/alvd/cluster/v1/admin_pb";
import { api, failure, READ_TIMEOUT_MS } from "../api";
import { colorFor, drawChart, type Series } from "../chart";
import { fill, h, latency, panel, rate, table } from "../dom";
import { errorBox, type Page } from "../page";

const KEEP_MS = 5 * 60_000;
/** a young server's charts span what it has, at least this */
const MIN_SPAN_MS = 60_000;

export const metricsPage: Page = {
  id: "metrics",
  title: "Metrics",
  mount(root, ctx) {
    let windows: RateWindow[] = [];
    let chosen = "Search";
    const problem = h("div");
    const qps = h("div", { class: "chart-box" });
    const lat = h("div", { class: "chart-box" });
    const ins = h("div", { class: "chart-box" });
    const now = h("div");
    const pick = h("select", { "aria-label": "RPC family" });
    pick.addEventListener("change", () => {
      chosen = pick.value;
      draw();
    });
    fill(
      root,
      problem,
      h("div", { class: "grid2" }, panel("Calls per second, by RPC family", qps), panel("Latency", h("div", { class: "inline" }, "family ", pick), lat)),
      h("div", { class: "grid2" }, panel("Inserted vectors per second", ins), panel("Last window", now)),
    );

    ctx.every(2000, async () => {
      const since = windows.length > 0 ? windows[windows.length - 1]!.endMs : 0n;
      try {
        const r = await api.admin.rates({ sinceMs: since }, { timeoutMs: READ_TIMEOUT_MS });
        fill(problem);
        windows = [...windows, ...r.windows].filter((w) => Number(w.endMs) > Date.now() - KEEP_MS - 60_000);
        draw();
      } catch (e) {
        fill(problem, errorBox(e));
        if (failure(e).unauthenticated) ctx.unauthenticated();
      }
    });
    let resized: ReturnType<typeof setTimeout> | undefined;
    window.addEventListener(
      "resize",
      () => {
        clearTimeout(resized);
        resized = setTimeout(draw, 150);
      },
      { signal: ctx.signal },
    );

    function draw(): void {
      const last = windows[windows.length - 1];
      const to = last ? Number(last.endMs) : Date.now();
      const first = windows[0] ? Number(windows[0].endMs) - windows[0].seconds * 1000 : to;
      const from = Math.max(to - KEEP_MS, Math.min(first, to - MIN_SPAN_MS));
      const families = [...new Set(windows.flatMap((w) => w.families.map((f) => f.family)))].sort();
      if (!families.includes(chosen) && families.length > 0) chosen = families[0]!;
      fill(pick, families.map((f) => h("option", { value: f, selected: f === chosen }, f)));
      const at = (w: RateWindow) => Number(w.endMs);
      const perFamily: Series[] = families.map((name) => ({
        name,
        color: colorFor(name),
        points: windows.map((w) => [at(w), w.families.find((f) => f.family === name)?.callsPerSecond ?? 0]),
      }));
      drawChart(qps, perFamily, { from, to, format: rate });
      const of = (w: RateWindow) => w.families.find((f) => f.family === chosen);
      drawChart(
        lat,
        [
          { name: `${chosen} p50`, color: "#2563eb", points: windows.map((w) => [at(w), of(w)?.p50Seconds ?? null]) },
          { name: `${chosen} p99`, color: "#dc2626", points: windows.map((w) => [at(w), of(w)?.p99Seconds ?? null]) },
        ],
        { from, to, format: latency },
      );
      drawChart(ins, [{ name: "inserted vectors/s", color: "#16a34a", points: windows.map((w) => [at(w), w.insertedPerSecond]) }], { from, to, format: rate });
      fill(
        now,
        last === undefined
          ? h("p", { class: "muted" }, "The server samples its counters every few seconds; the first window appears shortly.")
          : table(
              ["Family", "Calls/s", "Errors/s", "p50", "p99"],
              last.families.map((f) => [f.family, rate(f.callsPerSecond), rate(f.errorsPerSecond), latency(f.p50Seconds), latency(f.p99Seconds)]),
              { empty: `No calls in the last ${last.seconds.toFixed(0)} s.`, class: "rates" },
            ),
      );
    }
  },
};
