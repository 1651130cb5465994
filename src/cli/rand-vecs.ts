// rand-vecs: uniform [0, 1) vectors as JSON lines, as valdcli's rand-vecs makes them;
// --with-ids adds random UUIDs so the output feeds stream-insert directly. --seed makes
// the output repeatable (for tests and benchmarks).
import type { Command } from "./context";
import { CliError } from "./errors";

/** xorshift32: small, fast and good enough for test vectors (not for secrets). */
function seeded(seed: number): () => number {
  let s = seed >>> 0 || 1;
  const next = () => {
    s = (s ^ (s << 13)) >>> 0;
    s = (s ^ (s >>> 17)) >>> 0;
    s = (s ^ (s << 5)) >>> 0;
    return s / 2 ** 32;
  };
  for (let i = 0; i < 16; i++) next(); // small seeds start with small numbers
  return next;
}

function uuidFrom(rnd: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rnd() * 16).toString(16));
  hex[12] = "4";
  hex[16] = ((parseInt(hex[16]!, 16) & 3) | 8).toString(16);
  const h = hex.join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const randVecs: Command = async (ctx) => {
  if (ctx.args.length > 0) throw new CliError(`alvd rand-vecs takes no arguments (got "${ctx.args[0]}"; -d/--dimension, -n/--number?)`, 2);
  const f = ctx.values;
  const rnd = f.seed > 0 ? seeded(f.seed) : Math.random;
  const id = f.seed > 0 ? () => uuidFrom(rnd) : () => crypto.randomUUID();
  // six decimals keep lines short; the server stores float32 anyway
  const value = () => Math.floor(rnd() * 1e6) / 1e6;
  let chunk = "";
  for (let i = 0; i < f.number && !ctx.io.out.closed && !ctx.stop.aborted; i++) {
    const vec = `[${Array.from({ length: f.dimension }, value).join(",")}]`;
    chunk += f["with-ids"] ? `{"id":"${id()}","vector":${vec}}\n` : `${vec}\n`;
    if (chunk.length >= 1 << 16) {
      await ctx.io.out.write(chunk);
      chunk = "";
    }
  }
  await ctx.io.out.write(chunk);
  return 0;
};
