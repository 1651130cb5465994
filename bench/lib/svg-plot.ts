// Small line charts as a standalone SVG string (no plotting dependency): a grid of
// panels sharing one legend, each with a log or linear x and y axis, ticks, labels and
// markers, readable on GitHub and in a browser.

export interface Series {
  name: string;
  color: string;
  /** SVG stroke-dasharray, e.g. "6 4" */
  dash?: string;
  points: [x: number, y: number][];
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  xLog?: boolean;
  yLog?: boolean;
  /** include 0 on a linear y axis */
  yZero?: boolean;
  /** a dashed horizontal reference line, e.g. ratio 1 */
  hLine?: { y: number; label: string };
  series: Series[];
}

export interface ChartOptions {
  title: string;
  subtitle?: string;
  columns?: number;
  panelWidth?: number;
  panelHeight?: number;
  formatX?: (v: number) => string;
  formatY?: (v: number) => string;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** 1, 2, 5 × 10^k within [lo, hi] (log axis); falls back to the ends for a tiny range */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
  }
  return out.length >= 2 ? out : [lo, hi];
}

/** about `want` evenly spaced round numbers covering [lo, hi] */
function linearTicks(lo: number, hi: number, want = 5): number[] {
  const raw = (hi - lo) / want;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** k / M suffixes: 20k, 1M, 1.5k */
export function compact(v: number): string {
  const a = Math.abs(v);
  const trim = (x: number) => String(Number(x.toPrecision(3)));
  if (a >= 1e6) return `${trim(v / 1e6)}M`;
  if (a >= 1e3) return `${trim(v / 1e3)}k`;
  return trim(v);
}

interface Scale {
  map(v: number): number;
  ticks: number[];
}

function scale(values: number[], log: boolean, zero: boolean, from: number, to: number): Scale {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (log) {
    // pad by a fraction of a decade so end points do not sit on the frame
    const pad = Math.max(0.08, (Math.log10(hi) - Math.log10(lo)) * 0.08);
    lo = 10 ** (Math.log10(lo) - pad);
    hi = 10 ** (Math.log10(hi) + pad);
    const [a, b] = [Math.log10(lo), Math.log10(hi)];
    return { map: (v) => from + ((Math.log10(v) - a) / (b - a)) * (to - from), ticks: logTicks(lo, hi) };
  }
  if (zero) lo = Math.min(0, lo);
  if (hi === lo) hi = lo + 1;
  const pad = (hi - lo) * 0.08;
  hi += pad;
  if (!zero || lo < 0) lo -= pad;
  const ticks = linearTicks(lo, hi);
  return { map: (v) => from + ((v - lo) / (hi - lo)) * (to - from), ticks };
}

function panelSvg(p: Panel, x0: number, y0: number, w: number, h: number, o: ChartOptions): string {
  const left = 70;
  const right = 14;
  const top = 30;
  const bottom = 46;
  const pts = p.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!p.xLog || x > 0) && (!p.yLog || y > 0));
  const out: string[] = [`<g transform="translate(${x0},${y0})">`];
  out.push(`<text x="${w / 2}" y="18" text-anchor="middle" class="title">${esc(p.title)}</text>`);
  if (pts.length === 0) {
    out.push(`<text x="${w / 2}" y="${h / 2}" text-anchor="middle" class="tick">no data</text></g>`);
    return out.join("");
  }
  const sx = scale(pts.map((q) => q[0]), p.xLog ?? false, false, left, w - right);
  const sy = scale([...pts.map((q) => q[1]), ...(p.hLine ? [p.hLine.y] : [])], p.yLog ?? false, p.yZero ?? false, h - bottom, top);
  const fx = o.formatX ?? compact;
  const fy = o.formatY ?? compact;
  out.push(`<rect x="${left}" y="${top}" width="${w - left - right}" height="${h - top - bottom}" class="frame"/>`);
  for (const t of sy.ticks) {
    const y = sy.map(t).toFixed(1);
    out.push(`<line x1="${left}" x2="${w - right}" y1="${y}" y2="${y}" class="grid"/>`);
    out.push(`<text x="${left - 6}" y="${y}" dy="0.32em" text-anchor="end" class="tick">${esc(fy(t))}</text>`);
  }
  for (const t of sx.ticks) {
    const x = sx.map(t).toFixed(1);
    out.push(`<line y1="${top}" y2="${h - bottom}" x1="${x}" x2="${x}" class="grid"/>`);
    out.push(`<text x="${x}" y="${h - bottom + 16}" text-anchor="middle" class="tick">${esc(fx(t))}</text>`);
  }
  out.push(`<text x="${(left + w - right) / 2}" y="${h - 8}" text-anchor="middle" class="label">${esc(p.xLabel)}</text>`);
  out.push(`<text transform="translate(16,${(top + h - bottom) / 2}) rotate(-90)" text-anchor="middle" class="label">${esc(p.yLabel)}</text>`);
  if (p.hLine) {
    const y = sy.map(p.hLine.y).toFixed(1);
    out.push(`<line x1="${left}" x2="${w - right}" y1="${y}" y2="${y}" stroke="#555" stroke-width="1.2" stroke-dasharray="5 4"/>`);
    out.push(`<text x="${left + 4}" y="${y}" dy="-0.4em" class="tick">${esc(p.hLine.label)}</text>`);
  }
  for (const s of p.series) {
    const ok = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!p.xLog || x > 0) && (!p.yLog || y > 0));
    if (ok.length === 0) continue;
    const path = ok.map(([x, y], i) => `${i ? "L" : "M"}${sx.map(x).toFixed(1)},${sy.map(y).toFixed(1)}`).join(" ");
    out.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2.2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""}/>`);
    for (const [x, y] of ok) {
      out.push(`<circle cx="${sx.map(x).toFixed(1)}" cy="${sy.map(y).toFixed(1)}" r="3.6" fill="${s.color}"><title>${esc(`${s.name}: ${fx(x)} → ${fy(y)}`)}</title></circle>`);
    }
  }
  out.push("</g>");
  return out.join("\n");
}

export function chartsSvg(panels: Panel[], o: ChartOptions): string {
  const cols = o.columns ?? 2;
  const pw = o.panelWidth ?? 460;
  const ph = o.panelHeight ?? 300;
  const rows = Math.ceil(panels.length / cols);
  // one legend for all panels: the union of series names, first colour wins
  const legend = new Map<string, Series>();
  for (const p of panels) for (const s of p.series) if (!legend.has(s.name)) legend.set(s.name, s);
  const head = o.subtitle ? 64 : 44;
  const width = cols * pw;
  // legend entries flow left to right and wrap; text width estimated from its length
  const entries = [...legend.values()].map((s) => ({ s, w: 34 + s.name.length * 6.6 + 22 }));
  const lines: (typeof entries)[] = [[]];
  for (const e of entries) {
    const line = lines.at(-1)!;
    if (line.length > 0 && line.reduce((a, b) => a + b.w, 0) + e.w > width - 40) lines.push([e]);
    else line.push(e);
  }
  const legendH = lines.length * 20 + 8;
  const height = head + legendH + rows * ph + 8;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    "<style>.title{font-size:14px;font-weight:bold;fill:#222}.label{font-size:12px;fill:#333}.tick{font-size:11px;fill:#555}.legend{font-size:12px;fill:#222}.grid{stroke:#e3e3e3;stroke-width:1}.frame{fill:none;stroke:#999;stroke-width:1}</style>",
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="26" text-anchor="middle" style="font-size:17px;font-weight:bold;fill:#111">${esc(o.title)}</text>`,
  ];
  if (o.subtitle) out.push(`<text x="${width / 2}" y="46" text-anchor="middle" class="label">${esc(o.subtitle)}</text>`);
  lines.forEach((line, li) => {
    let x = (width - line.reduce((a, b) => a + b.w, 0)) / 2;
    const y = head + 12 + li * 20;
    for (const { s, w } of line) {
      out.push(`<line x1="${x}" x2="${x + 28}" y1="${y}" y2="${y}" stroke="${s.color}" stroke-width="2.2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""}/>`);
      out.push(`<circle cx="${x + 14}" cy="${y}" r="3.6" fill="${s.color}"/>`);
      out.push(`<text x="${x + 34}" y="${y}" dy="0.32em" class="legend">${esc(s.name)}</text>`);
      x += w;
    }
  });
  panels.forEach((p, i) => out.push(panelSvg(p, (i % cols) * pw, head + legendH + Math.floor(i / cols) * ph, pw, ph, o)));
  out.push("</svg>\n");
  return out.join("\n");
}
