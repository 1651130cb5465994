// Multiplexes call streams over one websocket: routes incoming frames to their
// stream, keeps the heartbeat, and fails every open stream with UNAVAILABLE the
// moment the socket is gone. Both ends use it; only the server opens streams.
import { Code, ConnectError } from "@connectrpc/connect";
import {
  decodeFrames,
  decodeRequestHead,
  decodeReset,
  decodeResponseHead,
  decodeHeaders,
  decodeWindow,
  encodeRequestHead,
  encodeReset,
  FrameType,
  type Frame,
  type RequestHead,
} from "./frames";
import { CloseCode, type RawSocket } from "./socket";
import { TunnelStream, type StreamHost } from "./stream";
import { FrameWriter } from "./writer";

export interface MuxOptions {
  raw: RawSocket;
  /** per-stream flow-control window in bytes (both directions) */
  window?: number;
  /** send a ping this often; a peer silent for pingMisses intervals is dropped */
  pingIntervalMs?: number;
  pingMisses?: number;
  /** callee side: a new call arrived */
  onRequest?: (stream: TunnelStream, head: RequestHead) => void;
  /** the tunnel ended (either side closed, heartbeat lost, protocol error) */
  onClose?: (err: ConnectError) => void;
  /** names the peer in error messages, e.g. `agent "a1"` */
  peer: string;
}

/** traffic counters of one tunnel, for metrics and tests */
export interface TunnelStats {
  messagesSent: number;
  bytesSent: number;
  messagesReceived: number;
  bytesReceived: number;
  openStreams: number;
  /** round trip of the latest heartbeat, if one came back yet */
  rttMs: number | undefined;
  /** when the peer last spoke (ms since the epoch) */
  lastHeardMs: number;
}

export const DEFAULT_WINDOW = 1024 * 1024;
// A hung peer (SIGSTOP, a frozen VM) is dropped 1.2-1.6 s after it last spoke, so the
// server stops routing to it within 2 s. Pings are 8 bytes; 2.5 a second cost nothing.
export const DEFAULT_PING_INTERVAL_MS = 400;
export const DEFAULT_PING_MISSES = 3;
const MAX_STREAM_ID = 0xffffffff;
const CLOSE_GRACE_MS = 1000;

export class Mux implements StreamHost {
  readonly writer: FrameWriter;
  readonly window: number;
  private readonly streams = new Map<number, TunnelStream>();
  private nextId = 1;
  private lastHeard = Date.now();
  private readonly heartbeat: ReturnType<typeof setInterval>;
  private closedWith: ConnectError | undefined;
  private socketGone = false;
  private messagesReceived = 0;
  private bytesReceived = 0;
  private rttMs: number | undefined;

  constructor(private readonly opts: MuxOptions) {
    this.window = opts.window ?? DEFAULT_WINDOW;
    this.writer = new FrameWriter(opts.raw, (why) => this.close(CloseCode.ProtocolError, why));
    const interval = opts.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS;
    const misses = opts.pingMisses ?? DEFAULT_PING_MISSES;
    // The first ping also tells a dialing agent that its hello was accepted.
    this.ping();
    let lastTick = Date.now();
    this.heartbeat = setInterval(() => {
      const now = Date.now();
      // A tick far behind schedule means this process was stalled (a long synchronous
      // task, the machine overloaded): the peer's pongs may be sitting unread in the
      // socket, so its silence proves nothing yet. Start counting again.
      if (now - lastTick > 2 * interval) this.lastHeard = Math.max(this.lastHeard, now - interval);
      lastTick = now;
      if (now - this.lastHeard > interval * misses) {
        this.close(CloseCode.Timeout, `no heartbeat from ${opts.peer} for ${misses} intervals`);
        return;
      }
      this.ping();
    }, interval);
    this.heartbeat.unref?.();
  }

  private ping(): void {
    const stamp = new Uint8Array(8);
    new DataView(stamp.buffer).setFloat64(0, performance.now());
    this.writer.queue(FrameType.Ping, 0, stamp);
  }

  /** the error in-flight and new calls fail with once the tunnel is gone */
  get closed(): ConnectError | undefined {
    return this.closedWith;
  }

  get openStreams(): number {
    return this.streams.size;
  }

  stats(): TunnelStats {
    return {
      messagesSent: this.writer.messages,
      bytesSent: this.writer.bytes,
      messagesReceived: this.messagesReceived,
      bytesReceived: this.bytesReceived,
      openStreams: this.streams.size,
      rttMs: this.rttMs,
      lastHeardMs: this.lastHeard,
    };
  }

  /** caller side: start a call; its request head goes out with the next flush */
  open(head: RequestHead): TunnelStream {
    if (this.closedWith) throw this.closedWith;
    let id = this.nextId;
    while (this.streams.has(id)) id = id >= MAX_STREAM_ID ? 1 : id + 1;
    this.nextId = id >= MAX_STREAM_ID ? 1 : id + 1;
    const s = new TunnelStream(id, this, "caller");
    this.streams.set(id, s);
    s.queue(FrameType.RequestHead, encodeRequestHead(head));
    return s;
  }

  forget(stream: TunnelStream): void {
    if (this.streams.get(stream.id) === stream) this.streams.delete(stream.id);
  }

  /** one websocket message from the peer */
  receive(msg: Uint8Array): void {
    if (this.closedWith) return;
    this.lastHeard = Date.now();
    this.messagesReceived++;
    this.bytesReceived += msg.byteLength;
    let frames: Frame[];
    try {
      frames = decodeFrames(msg);
    } catch (e) {
      this.close(CloseCode.ProtocolError, `bad frame from ${this.opts.peer}: ${(e as Error).message}`);
      return;
    }
    for (const f of frames) {
      try {
        this.dispatch(f);
      } catch (e) {
        this.close(CloseCode.ProtocolError, `bad ${f.type} frame from ${this.opts.peer}: ${(e as Error).message}`);
        return;
      }
    }
  }

  private dispatch(f: Frame): void {
    switch (f.type) {
      case FrameType.Ping:
        this.writer.queue(FrameType.Pong, 0, f.payload);
        return;
      case FrameType.Pong:
        if (f.payload.byteLength === 8) {
          this.rttMs = performance.now() - new DataView(f.payload.buffer, f.payload.byteOffset, 8).getFloat64(0);
        }
        return;
      case FrameType.RequestHead: {
        const head = decodeRequestHead(f.payload);
        if (!this.opts.onRequest || this.streams.has(f.stream)) {
          const why = this.opts.onRequest ? "stream id in use" : "this end does not serve calls";
          this.writer.queue(FrameType.Reset, f.stream, encodeReset({ code: Code.Internal, message: `tunnel: ${why}` }));
          return;
        }
        const s = new TunnelStream(f.stream, this, "callee");
        this.streams.set(f.stream, s);
        this.opts.onRequest(s, head);
        return;
      }
    }
    // Frames for a stream that already finished are expected (races with
    // resets and trailers) and dropped.
    const s = this.streams.get(f.stream);
    if (!s) return;
    switch (f.type) {
      case FrameType.Data:
        s.receiveData(f.payload, f.flags);
        return;
      case FrameType.Window:
        s.grant(decodeWindow(f.payload));
        return;
      case FrameType.Reset: {
        const r = decodeReset(f.payload);
        s.fail(new ConnectError(r.message, r.code));
        return;
      }
      case FrameType.ResponseHead:
        s.onHead?.(decodeResponseHead(f.payload));
        return;
      case FrameType.Trailers:
        s.onTrailers?.(decodeHeaders(f.payload));
        return;
    }
  }

  /** close from this side: tell the peer why, then fail everything */
  close(code: number, reason: string): void {
    if (this.closedWith) return;
    this.writer.flush();
    try {
      this.opts.raw.close(code, reason.slice(0, 120));
    } catch {
      // already closing
    }
    // A dead peer never answers the close frame, and Bun's client would wait
    // 30 s for it before reporting the close (and before we may redial).
    setTimeout(() => {
      if (!this.socketGone) this.opts.raw.terminate();
    }, CLOSE_GRACE_MS).unref?.();
    this.end(reason);
  }

  /** the socket is gone (its close event): fail everything */
  terminate(reason: string): void {
    this.socketGone = true;
    this.end(reason);
  }

  private end(reason: string): void {
    if (this.closedWith) return;
    const err = new ConnectError(`tunnel to ${this.opts.peer} closed: ${reason}`, Code.Unavailable);
    this.closedWith = err;
    clearInterval(this.heartbeat);
    this.writer.close();
    for (const s of [...this.streams.values()]) s.fail(err);
    this.streams.clear();
    this.opts.onClose?.(err);
  }
}
