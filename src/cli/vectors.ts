// Vectors as users type and pipe them: a JSON array of numbers, or an object with
// "vector" (and "id", maybe "timestamp" in nanoseconds) — what rand-vecs prints.
export interface VectorLine {
  id: string | undefined;
  vector: number[];
  timestamp: bigint | undefined;
}

/** A JSON array of finite numbers, or a message saying what is wrong. */
export function toVector(value: unknown, what = "vector"): number[] {
  if (!Array.isArray(value) || value.length === 0) throw new Error(`${what} must be a non-empty JSON array of numbers`);
  for (const [i, x] of value.entries()) {
    if (typeof x !== "number" || !Number.isFinite(x)) throw new Error(`${what}[${i}] is ${JSON.stringify(x)}, not a finite number`);
  }
  return value as number[];
}

/** One JSON line; `idField` names the object's id member. */
export function parseVectorLine(text: string, idField = "id"): VectorLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`not JSON: ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`);
  }
  if (Array.isArray(value)) return { id: undefined, vector: toVector(value), timestamp: undefined };
  if (value === null || typeof value !== "object") throw new Error('expected [numbers…] or {"id":…,"vector":[…]}');
  const o = value as Record<string, unknown>;
  const id = o[idField];
  if (id !== undefined && typeof id !== "string" && typeof id !== "number") throw new Error(`"${idField}" must be a string or a number`);
  const ts = o.timestamp;
  if (ts !== undefined && !(typeof ts === "number" && Number.isSafeInteger(ts) && ts >= 0) && !(typeof ts === "string" && /^\d+$/.test(ts))) {
    throw new Error('"timestamp" must be nanoseconds since the epoch (a number or a string of digits)');
  }
  return { id: id === undefined ? undefined : String(id), vector: toVector(o.vector, '"vector"'), timestamp: ts === undefined ? undefined : BigInt(ts as string | number) };
}
