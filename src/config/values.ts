// zod schemas for the value kinds flags take. Each accepts the raw string from argv,
// env or a config file and yields the typed value, with a message a user can act on.
// Named imports, not the `z` namespace: building that namespace object costs ~12 ms of
// every start (measured in the compiled binary), the functions themselves almost nothing.
import { NEVER, enum as oneOfLiterals, number, string } from "zod";
import { parseDuration } from "./duration";

export const port = string()
  .regex(/^\d+$/, "expected a port number 0-65535")
  .transform(Number)
  .pipe(number().int().min(0, "expected a port number 0-65535").max(65535, "expected a port number 0-65535"));

export const host = string().min(1, "expected a host name or IP address");

export function intRange(min: number, max: number) {
  const msg = `expected an integer from ${min} to ${max}`;
  return string().regex(/^-?\d+$/, msg).transform(Number).pipe(number().int().min(min, msg).max(max, msg));
}

export const bool = string()
  .transform((s) => s.toLowerCase())
  .pipe(oneOfLiterals(["true", "false", "1", "0", "yes", "no", "on", "off"], { error: "expected true or false" }))
  .transform((s) => s === "true" || s === "1" || s === "yes" || s === "on");

export const duration = string().transform((s, ctx) => {
  const ms = parseDuration(s);
  if (ms === undefined) {
    ctx.addIssue({ code: "custom", message: 'expected a duration like "500ms", "5s" or "1m30s"' });
    return NEVER;
  }
  return ms;
});

/** host:port, with the host optional (":8000" means every interface). */
export const address = string().transform((s, ctx) => {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(s.trim());
  const portNum = m ? Number(m[3]) : NaN;
  if (!m || portNum > 65535) {
    ctx.addIssue({ code: "custom", message: `expected host:port, got "${s}"` });
    return NEVER;
  }
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port: portNum };
});

export const addressList = string().transform((s, ctx) => {
  const parts = s.split(",").map((p) => p.trim()).filter((p) => p.length > 0);
  const out: { host: string; port: number }[] = [];
  for (const p of parts) {
    const r = address.safeParse(p);
    if (!r.success) {
      ctx.addIssue({ code: "custom", message: `expected a comma-separated list of host:port, got "${p}"` });
      return NEVER;
    }
    out.push(r.data);
  }
  return out;
});

export function oneOf<const T extends string>(names: Record<string, T>) {
  const list = Object.keys(names).join(", ");
  return string().transform((s, ctx) => {
    const v = names[s.toLowerCase()];
    if (v === undefined) {
      ctx.addIssue({ code: "custom", message: `expected one of: ${list}` });
      return NEVER;
    }
    return v;
  });
}

export const text = string();
