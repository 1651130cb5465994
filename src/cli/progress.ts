// Progress of long client work on stderr: on a terminal a bar redrawn in place (count,
// rate, ETA), elsewhere a plain log line every --progress-interval, so CI logs and
// `2> file` stay readable. stdout is left to results.
import type { Io } from "./io";

export type ProgressMode = "auto" | "bar" | "log" | "none";

export interface Progress {
  /** `done` items answered (ok or failed), `failed` of them failed */
  update(done: number, failed: number): void;
  /** the total, once known (e.g. after reading a file's header) */
  setTotal(total: number | undefined): void;
  /** stops redrawing and clears the bar; the caller prints the summary */
  stop(): void;
}

const BAR_REDRAW_MS = 100;
const RATE_WINDOW_MS = 5_000;

const fmtCount = (n: number) => Math.round(n).toLocaleString("en-US");

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** bytes as a size, for progress counted in bytes */
export function formatBytes(n: number): string {
  const [div, unit] = n >= 1e9 ? [1e9, "GB"] : n >= 1e6 ? [1e6, "MB"] : n >= 1e3 ? [1e3, "kB"] : [1, "B"];
  return `${(n / div).toFixed(div === 1 ? 0 : 1)} ${unit}`;
}

/** unit "bytes": counts, totals and rates are shown as sizes (12.3 MB/45.0 MB, 80.1 MB/s) */
export function createProgress(io: Io, opts: { mode: ProgressMode; intervalMs: number; label: string; unit: string; total?: number }): Progress {
  const mode = opts.mode === "auto" ? (io.stderrIsTTY ? "bar" : "log") : opts.mode;
  const bytes = opts.unit === "bytes";
  const fmt = bytes ? formatBytes : fmtCount;
  let total = opts.total;
  let done = 0;
  let failed = 0;
  const t0 = performance.now();
  // recent (time, count) samples: the rate (and so the ETA) follows the current speed
  const samples: [number, number][] = [[t0, 0]];
  const rate = (now: number) => {
    while (samples.length > 2 && now - samples[1]![0] > RATE_WINDOW_MS) samples.shift();
    const [t, n] = samples[0]!;
    return now - t > 0 ? ((done - n) * 1000) / (now - t) : 0;
  };
  const parts = (now: number) => {
    const r = rate(now);
    const eta = total !== undefined && r > 0 ? `ETA ${formatDuration((total - done) / r)}` : `${formatDuration((now - t0) / 1000)} elapsed`;
    return { r: `${fmt(r)}/s`, eta, failedText: failed > 0 ? `, ${fmtCount(failed)} failed` : "" };
  };
  const draw = () => {
    const now = performance.now();
    samples.push([now, done]);
    const { r, eta, failedText } = parts(now);
    if (mode === "log") {
      const unit = bytes ? "" : ` ${opts.unit}`;
      const of = total !== undefined ? `/${fmt(total)}${unit} (${((100 * done) / Math.max(total, 1)).toFixed(1)}%)` : unit;
      io.err(`${opts.label}: ${fmt(done)}${of}, ${r}, ${eta}${failedText}\n`);
      return;
    }
    const count = total !== undefined ? `${fmt(done)}/${fmt(total)}` : fmt(done);
    const tail = ` ${count} ${r} ${eta}${failedText}`;
    let bar = "";
    if (total !== undefined) {
      // sized for the widest count and rate, so the bar does not shift as they grow
      const width = Math.max(10, Math.min(40, io.columns() - opts.label.length - 2 * fmt(total).length - 36));
      const fill = Math.min(width, Math.round((width * done) / Math.max(total, 1)));
      bar = ` [${"#".repeat(fill)}${"-".repeat(width - fill)}] ${((100 * done) / Math.max(total, 1)).toFixed(0).padStart(3)}%`;
    }
    io.err(`\r\x1b[K${opts.label}${bar}${tail}`);
  };
  const timer = mode === "none" ? undefined : setInterval(draw, mode === "bar" ? BAR_REDRAW_MS : opts.intervalMs);
  timer?.unref();
  return {
    update(d, f) {
      done = d;
      failed = f;
    },
    setTotal(t) {
      total = t;
    },
    stop() {
      if (timer === undefined) return;
      clearInterval(timer);
      if (mode === "bar") {
        draw();
        io.err("\n");
      }
    },
  };
}
