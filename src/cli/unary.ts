// One call each: insert, upsert, search (by vector or --id), exists, get, remove.
// Text for people by default, the Vald message as protobuf JSON with --json.
import { toJson } from "@bufbuild/protobuf";
import { JSON_OPTIONS } from "./io";
import { Code, ConnectError } from "@connectrpc/connect";
import { Object_LocationSchema, Object_VectorSchema, Search_ResponseSchema, type Search_Response } from "../gen/payload/v1/payload_pb";
import { Insert } from "../gen/vald/v1/insert_pb";
import { Object$ } from "../gen/vald/v1/object_pb";
import { Remove } from "../gen/vald/v1/remove_pb";
import { Search } from "../gen/vald/v1/search_pb";
import { Upsert } from "../gen/vald/v1/upsert_pb";
import type { Command, Ctx } from "./context";
import { attempt, CliError, describe } from "./errors";
import { lines } from "./io";
import { parseVectorLine, toVector, type VectorLine } from "./vectors";

function usage(ctx: Ctx, why: string): CliError {
  return new CliError(`${why} (see alvd ${ctx.command} --help)`, 2);
}

/** The VECTOR argument, else the first JSON line on stdin. */
async function vectorInput(ctx: Ctx, arg: string | undefined): Promise<VectorLine> {
  if (arg !== undefined) {
    try {
      return { id: undefined, vector: toVector(JSON.parse(arg), "VECTOR"), timestamp: undefined };
    } catch (e) {
      throw usage(ctx, e instanceof SyntaxError ? `VECTOR is not JSON: ${arg.slice(0, 40)}` : (e as Error).message);
    }
  }
  if (ctx.io.stdinIsTTY) throw usage(ctx, "no VECTOR: give a JSON array like [0.1,0.2] or pipe one JSON line into stdin");
  for await (const text of lines(ctx.io.stdin())) {
    if (text.trim() === "") continue;
    try {
      return parseVectorLine(text);
    } catch (e) {
      throw new CliError(`stdin: ${(e as Error).message}`, 2);
    }
  }
  throw usage(ctx, "no VECTOR: stdin was empty");
}


function write(op: "insert" | "upsert"): Command {
  return async (ctx) => {
    const [idArg, vecArg, ...extra] = ctx.args;
    if (extra.length > 0) throw usage(ctx, `unexpected argument "${extra[0]}"`);
    const input = await vectorInput(ctx, vecArg);
    const id = idArg ?? input.id;
    if (id === undefined || id === "") throw usage(ctx, `no ID: alvd ${op} ID VECTOR, or {"id":…,"vector":[…]} on stdin`);
    const s = ctx.session();
    const req = { vector: { id, vector: input.vector, timestamp: input.timestamp ?? 0n }, config: { skipStrictExistCheck: false, timestamp: input.timestamp ?? 0n } };
    const loc = await attempt(s.target, () => (op === "insert" ? s.client(Insert).insert(req, s.unary()) : s.client(Upsert).upsert(req, s.unary())));
    if (ctx.values.json) await ctx.io.out.json(toJson(Object_LocationSchema, loc, JSON_OPTIONS));
    else await ctx.io.out.line(`${op === "insert" ? "inserted" : "upserted"} ${JSON.stringify(id)}${loc.name ? ` on ${loc.name}` : ""}`);
    return 0;
  };
}

export const insert = write("insert");
export const upsert = write("upsert");

async function printResults(ctx: Ctx, res: Search_Response): Promise<void> {
  if (ctx.values.json) return ctx.io.out.json(toJson(Search_ResponseSchema, res, JSON_OPTIONS));
  const w = Math.max(2, ...res.results.map((r) => r.id.length));
  const rows = res.results.map((r, i) => `${String(i + 1).padStart(4)}  ${r.id.padEnd(w)}  ${r.distance}`);
  await ctx.io.out.write(`rank  ${"id".padEnd(w)}  distance\n${rows.join("\n")}\n`);
}

export const search: Command = async (ctx) => {
  const f = ctx.values;
  if (ctx.args.length > 1) throw usage(ctx, `unexpected argument "${ctx.args[1]}"`);
  if (f.id !== "" && ctx.args.length > 0) throw usage(ctx, "give a VECTOR or --id, not both");
  const s = ctx.session();
  const timeoutNs = BigInt(Math.round((s.unary().timeoutMs ?? 0) * 1e6));
  const config = { num: f.num, radius: f.radius, epsilon: f.epsilon, timeout: timeoutNs };
  const client = s.client(Search);
  const res =
    f.id !== ""
      ? await attempt(s.target, () => client.searchByID({ id: f.id, config }, s.unary()))
      : await (async () => {
          const { vector } = await vectorInput(ctx, ctx.args[0]);
          return attempt(s.target, () => client.search({ vector, config }, s.unary()));
        })();
  await printResults(ctx, res);
  return 0;
};

function oneId(ctx: Ctx): string {
  if (ctx.args.length !== 1 || ctx.args[0] === "") throw usage(ctx, `alvd ${ctx.command} takes one ID`);
  return ctx.args[0]!;
}

export const exists: Command = async (ctx) => {
  const id = oneId(ctx);
  const s = ctx.session();
  let found = true;
  try {
    await s.client(Object$).exists({ id }, s.unary());
  } catch (e) {
    if (ConnectError.from(e).code !== Code.NotFound) throw new CliError(describe(e, "", s.target));
    found = false;
  }
  if (ctx.values.json) await ctx.io.out.json({ id, exists: found });
  else await ctx.io.out.line(`${JSON.stringify(id)} ${found ? "exists" : "not found"}`);
  return found ? 0 : 1;
};

export const get: Command = async (ctx) => {
  const id = oneId(ctx);
  const s = ctx.session();
  const v = await attempt(s.target, () => s.client(Object$).getObject({ id: { id } }, s.unary()));
  if (ctx.values.json) {
    await ctx.io.out.json(toJson(Object_VectorSchema, v, JSON_OPTIONS));
    return 0;
  }
  const when = v.timestamp > 0n ? ` (${new Date(Number(v.timestamp / 1_000_000n)).toISOString()})` : "";
  await ctx.io.out.write(`id: ${JSON.stringify(v.id)}\ntimestamp: ${v.timestamp}${when}\ndimension: ${v.vector.length}\nvector: ${JSON.stringify(v.vector)}\n`);
  return 0;
};

export const remove: Command = async (ctx) => {
  if (ctx.args.length === 0) throw usage(ctx, "alvd remove takes one or more IDs");
  const s = ctx.session();
  const client = s.client(Remove);
  let failed = 0;
  for (const id of ctx.args) {
    try {
      const loc = await client.remove({ id: { id }, config: {} }, s.unary());
      if (ctx.values.json) await ctx.io.out.json(toJson(Object_LocationSchema, loc, JSON_OPTIONS));
      else await ctx.io.out.line(`removed ${JSON.stringify(id)}`);
    } catch (e) {
      failed++;
      ctx.io.err(`alvd remove: ${describe(e, JSON.stringify(id), s.target)}\n`);
    }
  }
  return failed === 0 ? 0 : 1;
};
