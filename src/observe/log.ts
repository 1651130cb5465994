// Structured logging: one line per event, text for people or JSON for collectors.
import type { LogConfig } from "../config/config";

export type Level = LogConfig["level"];
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** a logger that adds these fields to every line (e.g. component, agent name) */
  with(fields: Fields): Logger;
}

function render(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message);
  if (typeof v === "string") return /^[\w.:/@+-]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === "bigint") return v.toString();
  return JSON.stringify(v);
}

export function createLogger(cfg: LogConfig, write: (line: string) => void = (l) => process.stderr.write(l), base: Fields = {}): Logger {
  const min = RANK[cfg.level];
  const emit = (level: Level, msg: string, fields?: Fields) => {
    if (RANK[level] < min) return;
    const all = { ...base, ...fields };
    const time = new Date().toISOString();
    if (cfg.format === "json") {
      const obj: Fields = { time, level, msg };
      for (const [k, v] of Object.entries(all)) {
        obj[k] = v instanceof Error ? v.message : typeof v === "bigint" ? v.toString() : v;
      }
      write(JSON.stringify(obj) + "\n");
    } else {
      const kv = Object.entries(all).map(([k, v]) => ` ${k}=${render(v)}`).join("");
      write(`${time} ${level.toUpperCase().padEnd(5)} ${msg}${kv}\n`);
    }
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    with: (f) => createLogger(cfg, write, { ...base, ...f }),
  };
}
