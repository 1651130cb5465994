// Vectors typed or pasted by a user: a JSON array, or numbers separated by commas,
// spaces or new lines (a CSV row or column). The server judges the dimension.

export function parseVector(text: string): number[] {
  const t = text.trim();
  if (t === "") throw new Error("enter a vector: a JSON array like [0.1, 0.2] or comma-separated numbers");
  let values: unknown[];
  if (t.startsWith("[")) {
    try {
      values = JSON.parse(t) as unknown[];
    } catch {
      throw new Error("not a JSON array of numbers");
    }
    if (!Array.isArray(values)) throw new Error("not a JSON array of numbers");
  } else {
    values = t.split(/[\s,;]+/).filter((s) => s !== "");
  }
  return values.map((v, i) => {
    const n = typeof v === "number" ? v : typeof v === "string" ? Number(v) : NaN;
    if (!Number.isFinite(n)) throw new Error(`value ${i + 1} (${JSON.stringify(v)}) is not a finite number`);
    return n;
  });
}

export function randomVector(dimension: number): number[] {
  return Array.from({ length: dimension }, () => Math.round(Math.random() * 1e4) / 1e4);
}

/** "[0.1, 0.2, … 784 values]" */
export function showVector(v: readonly number[], head = 12): string {
  const shown = v.slice(0, head).map((x) => +x.toFixed(4));
  return `[${shown.join(", ")}${v.length > head ? `, … ${v.length} values` : ""}]`;
}
