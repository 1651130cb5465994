// One bidi stream (StreamInsert, StreamUpsert, StreamSearch) fed from an async source
// with at most `window` requests unanswered, so memory stays bounded whatever the input
// size. Vald answers every request once; alvd answers in order, Vald's gateway may not,
// so an answer is matched by the id it names (location uuid, search request_id, or the
// RequestInfo of an error) and only falls back to the oldest request in flight.
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Status } from "../gen/google/rpc/status_pb";
import { RequestInfoSchema } from "../gen/rpc/v1/error_details_pb";

export interface Answer {
  /** the id the answer names, when it names one */
  key: string | undefined;
  /** set when the item failed */
  error: { code: Code; message: string } | undefined;
}

export interface PipelineSpec<T, Req, Res> {
  items: AsyncIterable<T>;
  key(item: T): string;
  request(item: T): Req;
  call(requests: AsyncIterable<Req>): AsyncIterable<Res>;
  answer(res: Res): Answer;
  onOk(item: T, res: Res): void | Promise<void>;
  /** true: the failure is fine after all (e.g. an identical copy is already stored) and counts as ok */
  onFail(item: T, error: { code: Code; message: string }): boolean | void | Promise<boolean | void>;
  /** answered so far (ok + failed), failed so far */
  onProgress?(done: number, failed: number): void;
  window: number;
  /** stop sending after this many failures (0 = never) */
  maxErrors: number;
  /** aborted: stop sending, wait for the answers in flight (Ctrl-C) */
  stop?: AbortSignal;
}

export interface PipelineResult {
  sent: number;
  ok: number;
  failed: number;
  /** every item before this position was answered: where a rerun may resume */
  answeredPrefix: number;
  /** why it stopped early: "max-errors", "interrupted", or the stream's own error */
  stopped: "max-errors" | "interrupted" | ConnectError | undefined;
  /** the input failed (unreadable line, truncated file) after `sent` items */
  inputError: unknown;
}

/** For the status member of a stream answer. */
export function statusAnswer(s: Status): Answer {
  let key: string | undefined;
  for (const d of s.details) {
    if (!d.typeUrl.endsWith("/rpc.v1.RequestInfo")) continue;
    key = anyUnpack(d, RequestInfoSchema)?.requestId || undefined;
  }
  return { key, error: { code: s.code as Code, message: s.message } };
}

export async function runPipeline<T, Req, Res>(spec: PipelineSpec<T, Req, Res>): Promise<PipelineResult> {
  // in flight, oldest first: [position, key, item]
  const pending: { pos: number; key: string; item: T }[] = [];
  let sent = 0;
  let ok = 0;
  let failed = 0;
  let stopped: PipelineResult["stopped"];
  let wake: (() => void) | undefined;
  const kick = () => {
    wake?.();
    wake = undefined;
  };
  spec.stop?.addEventListener("abort", () => {
    stopped ??= "interrupted";
    kick();
  });
  const halted = () => stopped !== undefined || spec.stop?.aborted === true;

  // A bad input (an unreadable line, a truncated file) ends the sending, not the stream:
  // the answers in flight still arrive and count.
  let inputError: unknown;
  async function* requests(): AsyncGenerator<Req> {
    try {
      for await (const item of spec.items) {
        while (pending.length >= spec.window && !halted()) await new Promise<void>((r) => (wake = r));
        if (halted()) return;
        const req = spec.request(item);
        pending.push({ pos: sent++, key: spec.key(item), item });
        yield req;
      }
    } catch (e) {
      inputError = e;
    }
  }

  const take = (key: string | undefined) => {
    const i = key === undefined ? 0 : pending.findIndex((p) => p.key === key);
    return pending.splice(i < 0 ? 0 : i, 1)[0];
  };

  try {
    for await (const res of spec.call(requests())) {
      const a = spec.answer(res);
      const p = take(a.key);
      if (p === undefined) throw new ConnectError("the server answered more requests than were sent", Code.Internal);
      if (a.error === undefined) {
        ok++;
        await spec.onOk(p.item, res);
      } else if ((await spec.onFail(p.item, a.error)) === true) {
        ok++;
      } else {
        failed++;
        if (spec.maxErrors > 0 && failed >= spec.maxErrors) stopped ??= "max-errors";
      }
      spec.onProgress?.(ok + failed, failed);
      kick();
    }
    if (pending.length > 0 && stopped === undefined) {
      stopped = new ConnectError(`the stream ended with ${pending.length} requests unanswered`, Code.Unavailable);
    }
  } catch (e) {
    stopped = ConnectError.from(e);
  }
  return { sent, ok, failed, answeredPrefix: pending[0]?.pos ?? sent, stopped, inputError };
}
