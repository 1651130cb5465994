// Small time-series line charts drawn as SVG, sized to their box in CSS pixels so the
// labels stay legible on a phone.
import { h } from "./dom";

const SVG = "http://www.w3.org/2000/svg";

export interface Series {
  name: string;
  color: string;
  /** [time ms, value]; a null value breaks the line (no data then) */
  points: [number, number | null][];
}

export interface ChartOptions {
  /** time span shown, ms since the epoch */
  from: number;
  to: number;
  format(v: number): string;
  height?: number;
}

const PALETTE = ["#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d"];
const FAMILY: Record<string, string> = {
  Search: "#2563eb",
  Insert: "#16a34a",
  Upsert: "#65a30d",
  Update: "#ca8a04",
  Remove: "#dc2626",
  Object: "#9333ea",
  Index: "#ea580c",
  Agent: "#0891b2",
  Flush: "#db2777",
  Admin: "#9ca3af",
};

/** a stable colour per name, so a family keeps its colour as others come and go */
export function colorFor(name: string): string {
  if (FAMILY[name]) return FAMILY[name];
  let x = 0;
  for (const c of name) x = (x * 31 + c.charCodeAt(0)) >>> 0;
  return PALETTE[x % PALETTE.length]!;
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** 1, 2 or 5 times a power of ten, at least v */
function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function drawChart(host: HTMLElement, series: Series[], o: ChartOptions): void {
  const width = Math.max(240, host.clientWidth || 600);
  const height = o.height ?? 150;
  const left = 64;
  const right = 8;
  const top = 8;
  const bottom = 20;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  let max = 0;
  for (const s of series) for (const [, v] of s.points) if (v !== null && v > max) max = v;
  const yMax = niceMax(max);
  const span = Math.max(1, o.to - o.from);
  const x = (t: number) => left + ((t - o.from) / span) * plotW;
  const y = (v: number) => top + plotH - (v / yMax) * plotH;

  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart" });
  for (const f of [0, 0.5, 1]) {
    const gy = y(yMax * f);
    root.append(svg("line", { x1: left, x2: width - right, y1: gy, y2: gy, class: "grid" }));
    const label = svg("text", { x: left - 6, y: gy + 4, "text-anchor": "end", class: "axis" });
    label.textContent = f === 0 ? "0" : o.format(yMax * f);
    root.append(label);
  }
  const minutes = span / 60_000;
  for (const [f, anchor] of [[0, "start"], [0.5, "middle"], [1, "end"]] as const) {
    const label = svg("text", { x: left + f * plotW, y: height - 4, "text-anchor": anchor, class: "axis" });
    const back = minutes * (1 - f);
    label.textContent = f === 1 ? "now" : `−${back >= 1 ? `${+back.toFixed(1)} min` : `${Math.round(back * 60)} s`}`;
    root.append(label);
  }
  for (const s of series) {
    let d = "";
    let run: [number, number][] = [];
    // a point with no neighbour to draw a line to is drawn as a dot
    const end = () => {
      if (run.length === 1) root.append(svg("circle", { cx: run[0]![0], cy: run[0]![1], r: 2.5, fill: s.color }));
      else run.forEach(([px, py], i) => (d += `${i === 0 ? "M" : "L"}${px.toFixed(1)},${py.toFixed(1)}`));
      run = [];
    };
    for (const [t, v] of s.points) {
      if (v === null || t < o.from) end();
      else run.push([x(t), y(v)]);
    }
    end();
    if (d) root.append(svg("path", { d, stroke: s.color, class: "line" }));
  }
  const legend = h(
    "div",
    { class: "legend" },
    series.map((s) => h("span", {}, h("i", { class: "swatch", "data-color": s.color }), s.name)),
  );
  // inline styles are off (CSP): colour the swatches through the DOM instead
  for (const sw of legend.querySelectorAll<HTMLElement>(".swatch")) sw.style.background = sw.dataset.color ?? "";
  host.replaceChildren(root, legend);
}
