// zod schemas for the value kinds flags take. Each accepts the raw string from argv,
// env or a config file and yields the typed value, with a message a user can act on.
// zod/mini: the same validation with a functional API; the classic API's bundle and
// its namespace object cost start-up time and binary size (bytecode is ~10× the JS).
import * as z from "zod/mini";
import { parseDuration } from "./duration";

const PORT_MSG = "expected a port number 0-65535";

export const port = z.pipe(
  z.string().check(z.regex(/^\d+$/, PORT_MSG)),
  z.pipe(z.transform(Number), z.number().check(z.int(), z.minimum(0, PORT_MSG), z.maximum(65535, PORT_MSG))),
);

export const host = z.string().check(z.minLength(1, "expected a host name or IP address"));

export function intRange(min: number, max: number) {
  const msg = `expected an integer from ${min} to ${max}`;
  return z.pipe(
    z.string().check(z.regex(/^-?\d+$/, msg)),
    z.pipe(z.transform(Number), z.number().check(z.int(msg), z.minimum(min, msg), z.maximum(max, msg))),
  );
}

const TRUTHY = new Set(["true", "1", "yes", "on"]);
const BOOL_WORDS = new Set([...TRUTHY, "false", "0", "no", "off"]);

export const bool = z.pipe(
  z.string(),
  z.transform((s: string, ctx) => {
    const w = s.toLowerCase();
    if (!BOOL_WORDS.has(w)) {
      ctx.issues.push({ code: "custom", message: "expected true or false", input: s });
      return z.NEVER;
    }
    return TRUTHY.has(w);
  }),
);

export const duration = z.pipe(
  z.string(),
  z.transform((s: string, ctx) => {
    const ms = parseDuration(s);
    if (ms === undefined) {
      ctx.issues.push({ code: "custom", message: 'expected a duration like "500ms", "5s" or "1m30s"', input: s });
      return z.NEVER;
    }
    return ms;
  }),
);

export const positiveDuration = z.pipe(
  duration,
  z.transform((ms: number, ctx) => {
    if (ms <= 0) {
      ctx.issues.push({ code: "custom", message: "expected a duration above 0", input: String(ms) });
      return z.NEVER;
    }
    return ms;
  }),
);

function parseAddress(s: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(s.trim());
  const portNum = m ? Number(m[3]) : NaN;
  if (!m || portNum > 65535) return undefined;
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port: portNum };
}

/** host:port, with the host optional (":8000" means every interface). */
export const address = z.pipe(
  z.string(),
  z.transform((s: string, ctx) => {
    const a = parseAddress(s);
    if (a === undefined) {
      ctx.issues.push({ code: "custom", message: `expected host:port, got "${s}"`, input: s });
      return z.NEVER;
    }
    return a;
  }),
);

export const addressList = z.pipe(
  z.string(),
  z.transform((s: string, ctx) => {
    const parts = s.split(",").map((p) => p.trim()).filter((p) => p.length > 0);
    const out: { host: string; port: number }[] = [];
    for (const p of parts) {
      const a = parseAddress(p);
      if (a === undefined) {
        ctx.issues.push({ code: "custom", message: `expected a comma-separated list of host:port, got "${p}"`, input: s });
        return z.NEVER;
      }
      out.push(a);
    }
    return out;
  }),
);

export function oneOf<const T extends string>(names: Record<string, T>) {
  const list = Object.keys(names).join(", ");
  return z.pipe(
    z.string(),
    z.transform((s: string, ctx) => {
      const v = names[s.toLowerCase()];
      if (v === undefined) {
        ctx.issues.push({ code: "custom", message: `expected one of: ${list}`, input: s });
        return z.NEVER;
      }
      return v;
    }),
  );
}

export const text = z.string();

/**
 * Client keys, comma-separated. A key travels in an HTTP header, so it must be printable
 * ASCII without spaces or commas; the message never repeats the value (it is a secret).
 */
export const keyList = z.pipe(
  z.string(),
  z.transform((s: string, ctx) => {
    const keys = s.split(",").map((k) => k.trim()).filter((k) => k.length > 0);
    for (const [i, k] of keys.entries()) {
      if (!/^[\x21-\x7e]+$/.test(k)) {
        ctx.issues.push({ code: "custom", message: `key ${i + 1} has a character a header cannot carry (use printable ASCII without spaces)`, input: "" });
        return z.NEVER;
      }
    }
    return keys;
  }),
);

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3 };

/** A size in bytes: "65536", "64MiB", "4MB", "512KiB". */
export function byteSize(min: number, max: number) {
  const msg = `expected a size from ${min} to ${max} bytes, like "4MiB" or "65536"`;
  return z.pipe(
    z.string(),
    z.transform((s: string, ctx) => {
      const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(s.trim());
      const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
      const n = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : NaN;
      if (!(n >= min && n <= max)) {
        ctx.issues.push({ code: "custom", message: msg, input: s });
        return z.NEVER;
      }
      return n;
    }),
  );
}

/** A finite decimal number in [min, max] ("0.1", "-1", "1e-3"). */
export function numberRange(min: number, max: number) {
  const msg = `expected a number from ${min} to ${max}`;
  return z.pipe(
    z.string().check(z.regex(/^\s*-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i, msg)),
    z.pipe(z.transform(Number), z.number().check(z.minimum(min, msg), z.maximum(max, msg))),
  );
}
