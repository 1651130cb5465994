// stream-insert, stream-upsert, stream-search: JSON lines from stdin over one bidi
// stream each, as valdcli's stream-* do (`alvd rand-vecs --with-ids | alvd stream-insert`).
import { create } from "@bufbuild/protobuf";
import { Search_RequestSchema, type Search_StreamResponse } from "../gen/payload/v1/payload_pb";
import { Search } from "../gen/vald/v1/search_pb";
import type { Command, Ctx } from "./context";
import { codeName, describe } from "./errors";
import { lines } from "./io";
import { runPipeline, statusAnswer } from "./pipeline";
import { createProgress } from "./progress";
import { parseVectorLine, type VectorLine } from "./vectors";
import { reportWrite, streamWrite, type WriteItem } from "./writes";

interface Numbered extends VectorLine {
  line: number;
}

/**
 * stdin's JSON lines; a line that does not parse is reported and counted, and past
 * --max-errors of them the input counts as broken.
 */
async function* stdinVectors(ctx: Ctx, bad: { count: number }): AsyncGenerator<Numbered> {
  let n = 0;
  for await (const text of lines(ctx.io.stdin())) {
    n++;
    if (text.trim() === "") continue;
    try {
      yield { ...parseVectorLine(text), line: n };
    } catch (e) {
      bad.count++;
      ctx.io.err(`alvd ${ctx.command}: line ${n}: ${(e as Error).message}\n`);
      const max = ctx.values["max-errors"];
      if (max > 0 && bad.count >= max) throw new Error(`${bad.count} lines could not be read (--max-errors ${max})`);
    }
  }
}

function streamWriteCommand(op: "insert" | "upsert"): Command {
  return async (ctx) => {
    const bad = { count: 0 };
    async function* items(): AsyncGenerator<WriteItem> {
      for await (const v of stdinVectors(ctx, bad)) {
        if (v.id === undefined) {
          bad.count++;
          ctx.io.err(`alvd ${ctx.command}: line ${v.line}: no "id" (stream-${op} reads {"id":…,"vector":[…]} lines, e.g. from rand-vecs --with-ids)\n`);
          continue;
        }
        yield { id: v.id, vector: v.vector, timestamp: v.timestamp, where: `line ${v.line}` };
      }
    }
    const o = await streamWrite(ctx, items(), { op, label: `stream-${op}` });
    o.failed += bad.count;
    return reportWrite(ctx, `${op}ed`, o, (prefix) => `the first ${prefix.toLocaleString("en-US")} vectors read were answered`);
  };
}

export const streamInsert = streamWriteCommand("insert");
export const streamUpsert = streamWriteCommand("upsert");

export const streamSearch: Command = async (ctx) => {
  const f = ctx.values;
  const search = ctx.session().client(Search);
  const bad = { count: 0 };
  const progress = createProgress(ctx.io, { mode: f.progress, intervalMs: f["progress-interval"], label: "stream-search", unit: "queries" });
  const query = (v: Numbered) => v.id ?? String(v.line);
  // stdout gone (`| head`): nobody reads the answers, so stop asking
  const gone = new AbortController();
  const stop = AbortSignal.any([ctx.stop, gone.signal]);
  const result = await runPipeline({
    items: stdinVectors(ctx, bad),
    key: (v) => `q${v.line}`,
    request: (v) =>
      create(Search_RequestSchema, { vector: v.vector, config: { requestId: `q${v.line}`, num: f.num, radius: f.radius, epsilon: f.epsilon } }),
    call: (reqs) => search.streamSearch(reqs),
    answer: (res: Search_StreamResponse) =>
      res.payload.case === "status" ? statusAnswer(res.payload.value) : { key: res.payload.value?.requestId || undefined, error: undefined },
    onOk: async (v, res) => {
      await ctx.io.out.json({
        query: query(v),
        results: res.payload.case === "response" ? res.payload.value.results.map((d) => ({ id: d.id, distance: d.distance })) : [],
      });
      if (ctx.io.out.closed) gone.abort();
    },
    onFail: (v, e) => ctx.io.err(`alvd stream-search: line ${v.line}: ${codeName(e.code)}: ${e.message}\n`),
    onProgress: (done, failed) => progress.update(done, failed),
    window: f.window,
    maxErrors: f["max-errors"],
    stop,
  });
  progress.stop();
  const failed = result.failed + bad.count;
  if (result.inputError !== undefined) ctx.io.err(`alvd stream-search: ${describe(result.inputError, "", ctx.session().target)}\n`);
  else if (result.stopped === "max-errors") ctx.io.err(`alvd stream-search: stopped after ${failed} failed queries (--max-errors ${f["max-errors"]})\n`);
  else if (result.stopped !== undefined && result.stopped !== "interrupted") ctx.io.err(`alvd stream-search: ${describe(result.stopped, "stream", ctx.session().target)}\n`);
  if (!f.json) ctx.io.err(`stream-search: ${result.ok} queries answered, ${failed} failed\n`);
  const early = result.stopped !== undefined && !gone.signal.aborted;
  return failed === 0 && !early && result.inputError === undefined ? 0 : 1;
};
