// index info|detail|create|save and flush. Counts come from vald.v1.Index (the gateway
// sums its agents); building and saving are core.v1.Agent calls, which alvd's gateway
// passes to every agent and Vald serves on each agent.
import { toJson } from "@bufbuild/protobuf";
import { JSON_OPTIONS } from "./io";
import { Agent } from "../gen/core/v1/agent_pb";
import { Info_Index_CountSchema, Info_Index_DetailSchema, type Info_Index_Count } from "../gen/payload/v1/payload_pb";
import { Flush } from "../gen/vald/v1/flush_pb";
import { Index } from "../gen/vald/v1/index_pb";
import type { Command, Ctx } from "./context";
import { attempt, CliError } from "./errors";
import { lines } from "./io";

const n = (x: number) => x.toLocaleString("en-US");

function countLine(c: Info_Index_Count): string {
  return `stored ${n(c.stored)}, uncommitted ${n(c.uncommitted)}${c.indexing ? ", indexing" : ""}${c.saving ? ", saving" : ""}`;
}


export const index: Command = async (ctx) => {
  const [sub, ...extra] = ctx.args;
  if (extra.length > 0 || sub === undefined || !["info", "detail", "create", "save"].includes(sub)) {
    throw new CliError(`alvd index takes one of info, detail, create, save${sub === undefined ? "" : ` (got ${[sub, ...extra].join(" ")})`}`, 2);
  }
  const s = ctx.session();
  const out = ctx.io.out;
  if (sub === "info") {
    const c = await attempt(s.target, () => s.client(Index).indexInfo({}, s.unary()));
    await (ctx.values.json ? out.json(toJson(Info_Index_CountSchema, c, JSON_OPTIONS)) : out.line(countLine(c)));
  } else if (sub === "detail") {
    const d = await attempt(s.target, () => s.client(Index).indexDetail({}, s.unary()));
    if (ctx.values.json) await out.json(toJson(Info_Index_DetailSchema, d, JSON_OPTIONS));
    else {
      const names = Object.keys(d.counts).sort();
      const w = Math.max(5, ...names.map((x) => x.length));
      await out.line(`${names.length} agents (${d.liveAgents} live), replicas ${d.replica}`);
      for (const name of names) await out.line(`  ${name.padEnd(w)}  ${countLine(d.counts[name]!)}`);
    }
  } else {
    const t0 = performance.now();
    const agent = s.client(Agent);
    await attempt(s.target, () => (sub === "create" ? agent.createIndex({ poolSize: 0 }, s.unary()) : agent.saveIndex({}, s.unary())));
    const seconds = Number(((performance.now() - t0) / 1000).toFixed(3));
    await (ctx.values.json ? out.json({ done: sub, seconds }) : out.line(`${sub === "create" ? "index built" : "index saved"} in ${seconds} s`));
  }
  return 0;
};

/** Flush removes everything: on a terminal ask, elsewhere insist on --yes. */
export const flush: Command = async (ctx) => {
  if (ctx.args.length > 0) throw new CliError(`alvd flush takes no arguments (got "${ctx.args[0]}")`, 2);
  const s = ctx.session();
  if (!ctx.values.yes) {
    if (!ctx.io.stdinIsTTY) {
      throw new CliError(`flush removes every vector on ${s.target.address}: add --yes to confirm (stdin is not a terminal to ask on)`, 2);
    }
    const stored = await s
      .client(Index)
      .indexInfo({}, s.unary())
      .then((c) => `${n(c.stored + c.uncommitted)} vectors`, () => "every vector");
    ctx.io.err(`Remove ${stored} from ${s.target.address}? Type "yes" to confirm: `);
    let answer = "";
    for await (const line of lines(ctx.io.stdin())) {
      answer = line.trim().toLowerCase();
      break;
    }
    if (answer !== "yes" && answer !== "y") {
      ctx.io.err("not flushed\n");
      return 1;
    }
  }
  const c = await attempt(s.target, () => s.client(Flush).flush({}, s.unary()));
  await (ctx.values.json ? ctx.io.out.json(toJson(Info_Index_CountSchema, c, JSON_OPTIONS)) : ctx.io.out.line(`flushed ${s.target.address}: ${countLine(c)}`));
  return 0;
};
