// zod schemas for the value kinds flags take. Each accepts the raw string from argv,
// env or a config file and yields the typed value, with a message a user can act on.
import { z } from "zod";
import { parseDuration } from "./duration";

export const port = z
  .string()
  .regex(/^\d+$/, "expected a port number 0-65535")
  .transform(Number)
  .pipe(z.number().int().min(0, "expected a port number 0-65535").max(65535, "expected a port number 0-65535"));

export const host = z.string().min(1, "expected a host name or IP address");

export function intRange(min: number, max: number) {
  const msg = `expected an integer from ${min} to ${max}`;
  return z.string().regex(/^-?\d+$/, msg).transform(Number).pipe(z.number().int().min(min, msg).max(max, msg));
}

export const bool = z
  .string()
  .transform((s) => s.toLowerCase())
  .pipe(z.enum(["true", "false", "1", "0", "yes", "no", "on", "off"], { error: "expected true or false" }))
  .transform((s) => s === "true" || s === "1" || s === "yes" || s === "on");

export const duration = z.string().transform((s, ctx) => {
  const ms = parseDuration(s);
  if (ms === undefined) {
    ctx.addIssue({ code: "custom", message: 'expected a duration like "500ms", "5s" or "1m30s"' });
    return z.NEVER;
  }
  return ms;
});

/** host:port, with the host optional (":8000" means every interface). */
export const address = z.string().transform((s, ctx) => {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(s.trim());
  const portNum = m ? Number(m[3]) : NaN;
  if (!m || portNum > 65535) {
    ctx.addIssue({ code: "custom", message: `expected host:port, got "${s}"` });
    return z.NEVER;
  }
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port: portNum };
});

export const addressList = z.string().transform((s, ctx) => {
  const parts = s.split(",").map((p) => p.trim()).filter((p) => p.length > 0);
  const out: { host: string; port: number }[] = [];
  for (const p of parts) {
    const r = address.safeParse(p);
    if (!r.success) {
      ctx.addIssue({ code: "custom", message: `expected a comma-separated list of host:port, got "${p}"` });
      return z.NEVER;
    }
    out.push(r.data);
  }
  return out;
});

export function oneOf<const T extends string>(names: Record<string, T>) {
  const list = Object.keys(names).join(", ");
  return z.string().transform((s, ctx) => {
    const v = names[s.toLowerCase()];
    if (v === undefined) {
      ctx.addIssue({ code: "custom", message: `expected one of: ${list}` });
      return z.NEVER;
    }
    return v;
  });
}

export const text = z.string();
