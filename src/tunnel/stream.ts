// One call's stream inside the tunnel: body chunks in and out under per-stream
// credit (like HTTP/2 windows), and the shared end states. Role-specific frames
// (heads, trailers) are handled by the caller/callee code through hooks.
import { Code, ConnectError } from "@connectrpc/connect";
import { encodeReset, encodeWindow, FLAG_END, FrameType, type ResponseHead } from "./frames";
import { Inbound } from "./inbound";
import type { FrameWriter } from "./writer";

/** Largest body chunk in one frame, so big messages interleave with other streams. */
export const MAX_DATA_FRAME = 128 * 1024;

export interface StreamHost {
  readonly writer: FrameWriter;
  /** initial credit in bytes each side grants the other per stream */
  readonly window: number;
  forget(stream: TunnelStream): void;
}

const EMPTY = new Uint8Array(0);

export class TunnelStream {
  readonly inbound: Inbound;
  private readonly controller = new AbortController();
  /** settles when the stream is finished or failed, to release waiting writers */
  private readonly gone: Promise<void>;
  private release!: () => void;
  private credit: number;
  private creditWake: (() => void) | undefined;
  private grantPending = 0;
  private endSent = false;
  private finished = false;
  /** caller side: the callee's response head arrived */
  onHead: ((head: ResponseHead) => void) | undefined;
  /** caller side: the callee's trailers arrived (the response is complete) */
  onTrailers: ((trailers: Headers) => void) | undefined;

  constructor(
    readonly id: number,
    private readonly host: StreamHost,
    /** the caller reads the response, the callee (agent) reads the request */
    readonly role: "caller" | "callee",
  ) {
    this.credit = host.window;
    this.gone = new Promise((resolve) => (this.release = resolve));
    this.inbound = new Inbound({
      consumed: (n) => this.consumed(n),
      abandoned: (reason) => this.abandoned(reason),
    });
  }

  private abandoned(reason: unknown): void {
    if (this.role === "callee") {
      // A handler may stop reading the request and still answer (like an
      // HTTP/2 server): drop further request data, keep the response going.
      // The caller's body pump stalls on credit until the trailers end it.
      this.inbound.fail(new ConnectError("request body no longer read", Code.Canceled));
      return;
    }
    // The caller stopped reading the response: the call is canceled.
    const err = ConnectError.from(reason ?? new ConnectError("stream reader went away", Code.Canceled), Code.Canceled);
    this.reset(err.code, err.rawMessage);
  }

  /** aborted, with a ConnectError reason, when the stream is reset or the tunnel closes */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get isFinished(): boolean {
    return this.finished;
  }

  queue(type: FrameType, payload: Uint8Array, flags = 0): void {
    if (!this.finished) this.host.writer.queue(type, this.id, payload, flags);
  }

  /**
   * Sends a body chunk, waiting for stream credit and socket room. Throws the
   * stream's error if it was reset; returns quietly if the peer already ended
   * the exchange (nothing more is wanted).
   */
  async write(chunk: Uint8Array): Promise<void> {
    let at = 0;
    while (at < chunk.byteLength) {
      if (this.signal.aborted) throw this.signal.reason;
      if (this.finished) return;
      if (this.credit <= 0) {
        await Promise.race([new Promise<void>((resolve) => (this.creditWake = resolve)), this.gone]);
        continue;
      }
      const room = this.host.writer.writable;
      if (room) {
        await Promise.race([room, this.gone]);
        continue;
      }
      const n = Math.min(chunk.byteLength - at, this.credit, MAX_DATA_FRAME);
      this.host.writer.queue(FrameType.Data, this.id, at === 0 && n === chunk.byteLength ? chunk : chunk.subarray(at, at + n));
      this.credit -= n;
      at += n;
    }
  }

  /** no more body chunks from this side */
  end(): void {
    if (this.endSent) return;
    this.endSent = true;
    this.queue(FrameType.Data, EMPTY, FLAG_END);
  }

  receiveData(payload: Uint8Array, flags: number): void {
    if (payload.byteLength > 0) {
      if (this.inbound.buffered + payload.byteLength > this.host.window) {
        this.reset(Code.ResourceExhausted, "tunnel peer exceeded the stream's flow-control window");
        return;
      }
      this.inbound.push(payload);
    }
    if (flags & FLAG_END) this.inbound.end();
  }

  grant(bytes: number): void {
    this.credit += bytes;
    const w = this.creditWake;
    this.creditWake = undefined;
    w?.();
  }

  private consumed(bytes: number): void {
    if (this.finished) return;
    this.grantPending += bytes;
    if (this.grantPending >= this.host.window / 2) {
      this.queue(FrameType.Window, encodeWindow(this.grantPending));
      this.grantPending = 0;
    }
  }

  /** abandon the stream: tell the peer, fail everything local */
  reset(code: Code, message: string): void {
    if (this.finished) return;
    this.queue(FrameType.Reset, encodeReset({ code, message }));
    this.fail(new ConnectError(message, code));
  }

  /** the stream died (peer reset, tunnel gone): fail local readers and writers */
  fail(err: ConnectError): void {
    if (this.finished) return;
    this.finished = true;
    this.controller.abort(err);
    this.inbound.fail(err);
    this.release();
    this.host.forget(this);
  }

  /** the exchange completed normally; late frames for this id are ignored */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (!this.inbound.done) this.inbound.fail(new ConnectError("stream already finished", Code.Canceled));
    this.release();
    this.host.forget(this);
  }
}
