// Bulk writes over StreamInsert/StreamUpsert for stream-insert, stream-upsert, load and
// import: progress while it runs, every failed item named on stderr, one summary at the
// end, and — when it stops early — where a rerun can resume, so nothing the summary
// counts as written is in doubt.
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { Insert_RequestSchema, Upsert_RequestSchema, type Object_StreamLocation } from "../gen/payload/v1/payload_pb";
import { Insert } from "../gen/vald/v1/insert_pb";
import { Upsert } from "../gen/vald/v1/upsert_pb";
import type { Ctx } from "./context";
import { codeName, describe } from "./errors";
import { runPipeline, statusAnswer, type PipelineResult } from "./pipeline";
import { createProgress } from "./progress";

export interface WriteItem {
  id: string;
  vector: ArrayLike<number>;
  /** nanoseconds; undefined = the server stamps it */
  timestamp: bigint | undefined;
  /** where it came from, for messages: "line 17", "row 17" */
  where: string;
}

export interface WriteOptions {
  op: "insert" | "upsert";
  /** the label on progress and summary lines */
  label: string;
  total?: number;
  /** skipStrictExistCheck: an upsert of the same vector then only sets its timestamp (restore --force) */
  force?: boolean;
  /** ALREADY_EXISTS: true = count the item as already written (import's identical copy) */
  alreadyThere?(item: WriteItem): Promise<boolean>;
}

export interface WriteOutcome extends PipelineResult {
  /** already stored exactly so (counted in ok) */
  present: number;
  seconds: number;
}

export async function streamWrite(ctx: Ctx, items: AsyncIterable<WriteItem>, opts: WriteOptions): Promise<WriteOutcome> {
  const f = ctx.values;
  const session = ctx.session();
  const insert = session.client(Insert);
  const upsert = session.client(Upsert);
  const progress = createProgress(ctx.io, { mode: f.progress, intervalMs: f["progress-interval"], label: opts.label, unit: "vectors", total: opts.total });
  let present = 0;
  const t0 = performance.now();
  const fail = (item: WriteItem, e: { code: Code; message: string }) =>
    ctx.io.err(`alvd ${ctx.command}: ${item.where}, id ${JSON.stringify(item.id)}: ${codeName(e.code)}: ${e.message}\n`);
  const common = {
    items,
    key: (item: WriteItem) => item.id,
    answer: (res: Object_StreamLocation) =>
      res.payload.case === "status" ? statusAnswer(res.payload.value) : { key: res.payload.value?.uuid || undefined, error: undefined },
    onOk: () => {},
    onFail: async (item: WriteItem, e: { code: Code; message: string }) => {
      if (e.code === Code.AlreadyExists && opts.alreadyThere && (await opts.alreadyThere(item))) {
        present++;
        return true;
      }
      fail(item, e);
      return false;
    },
    onProgress: (done: number, failed: number) => progress.update(done, failed),
    window: f.window,
    maxErrors: f["max-errors"],
    stop: ctx.stop,
  };
  // Config.timestamp is what Vald's agents store; Object.Vector.timestamp is set too
  const message = (item: WriteItem) => {
    const ts = item.timestamp ?? 0n;
    return { vector: { id: item.id, vector: Array.from(item.vector), timestamp: ts }, config: { skipStrictExistCheck: opts.force === true, timestamp: ts } };
  };
  const result =
    opts.op === "insert"
      ? await runPipeline({ ...common, request: (it) => create(Insert_RequestSchema, message(it)), call: (r) => insert.streamInsert(r) })
      : await runPipeline({ ...common, request: (it) => create(Upsert_RequestSchema, message(it)), call: (r) => upsert.streamUpsert(r) });
  progress.stop();
  return { ...result, present, seconds: (performance.now() - t0) / 1000 };
}

/**
 * The summary on stdout (JSON with --json), and on stderr why it stopped early and how
 * to resume; returns the exit code: 0 only when every item was written.
 */
export async function reportWrite(ctx: Ctx, verb: string, o: WriteOutcome, resume: (answeredPrefix: number) => string): Promise<number> {
  const rate = o.seconds > 0 ? o.ok / o.seconds : 0;
  if (ctx.values.json) {
    await ctx.io.out.json({ [verb]: o.ok, failed: o.failed, alreadyPresent: o.present, seconds: Number(o.seconds.toFixed(3)), complete: o.stopped === undefined && o.inputError === undefined && o.failed === 0 });
  } else {
    const extra = o.present > 0 ? ` (${o.present.toLocaleString("en-US")} already there)` : "";
    await ctx.io.out.line(`${verb} ${o.ok.toLocaleString("en-US")} vectors${extra} in ${o.seconds.toFixed(1)} s (${Math.round(rate).toLocaleString("en-US")}/s), ${o.failed.toLocaleString("en-US")} failed`);
  }
  const say = (why: string) => ctx.io.err(`alvd ${ctx.command}: ${why}; ${resume(o.answeredPrefix)}\n`);
  if (o.inputError !== undefined) say(describe(o.inputError, "", ctx.session().target));
  else if (o.stopped === "max-errors") say(`stopped after ${o.failed} failed items (--max-errors ${ctx.values["max-errors"]})`);
  else if (o.stopped === "interrupted") say("interrupted");
  else if (o.stopped !== undefined) say(describe(o.stopped, "stream", ctx.session().target));
  return o.failed === 0 && o.stopped === undefined && o.inputError === undefined ? 0 : 1;
}
