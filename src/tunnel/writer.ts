// Coalesces frames queued in the same turn of the event loop into one
// websocket message (a unary call's head, body and end leave together), and
// tracks socket-level backpressure so body senders can wait for room.
import { FRAME_HEADER_BYTES, writeFrameHeader, type FrameType } from "./frames";
import type { RawSocket } from "./socket";

/** Flush at once past this many queued bytes instead of waiting for the turn to end. */
const FLUSH_BYTES = 512 * 1024;

interface Pending {
  type: FrameType;
  flags: number;
  stream: number;
  payload: Uint8Array;
}

export class FrameWriter {
  private pending: Pending[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  private congestion: Promise<void> | undefined;
  private closed = false;
  /** websocket messages and bytes handed to the socket */
  messages = 0;
  bytes = 0;

  constructor(
    private readonly raw: RawSocket,
    /** called when the socket drops a message: the link is unusable */
    private readonly onBroken: (why: string) => void,
  ) {}

  queue(type: FrameType, stream: number, payload: Uint8Array, flags = 0): void {
    if (this.closed) return;
    this.pending.push({ type, flags, stream, payload });
    this.pendingBytes += FRAME_HEADER_BYTES + payload.byteLength;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** undefined when the socket has room; otherwise resolves when it has drained */
  get writable(): Promise<void> | undefined {
    return this.congestion;
  }

  close(): void {
    this.closed = true;
    this.pending = [];
    this.pendingBytes = 0;
  }

  readonly flush = (): void => {
    this.scheduled = false;
    if (this.closed || this.pending.length === 0) return;
    const frames = this.pending;
    const out = new Uint8Array(this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    let at = 0;
    for (const f of frames) {
      writeFrameHeader(out, at, f.type, f.flags, f.stream, f.payload.byteLength);
      out.set(f.payload, at + FRAME_HEADER_BYTES);
      at += FRAME_HEADER_BYTES + f.payload.byteLength;
    }
    this.messages++;
    this.bytes += out.byteLength;
    const r = this.raw.send(out);
    if (r === "dropped") {
      this.closed = true;
      this.onBroken("websocket dropped a message (over its buffer limit)");
    } else if (r === "queued" && this.congestion === undefined) {
      this.congestion = this.raw.drained().then(() => {
        this.congestion = undefined;
      });
    }
  };
}
