// Multiplexes call streams over one websocket: routes incoming frames to their
// stream, keeps the heartbeat, and fails every open stream with UNAVAILABLE the
// moment the socket is gone. Both ends use it; only the server opens streams.
import { Code, ConnectError } from "@connectrpc/connect";
import {
  decodeCall,
  decodeFrames,
  decodeReply,
  decodeRequestHead,
  decodeReset,
  decodeResponseHead,
  decodeHeaders,
  decodeWindow,
  encodeCall,
  encodeReplyChunked,
  encodeReplyError,
  encodeReplyMessage,
  encodeRequestHead,
  encodeReset,
  FLAG_END,
  FrameType,
  ReplyKind,
  type CallHead,
  type DecodedCall,
  type Frame,
  type RequestHead,
} from "./frames";
import { CallCancel } from "../rpc/call-context";
import { CloseCode, type RawSocket } from "./socket";
import { MAX_DATA_FRAME, TunnelStream, type StreamHost } from "./stream";
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
  /**
   * callee side: a whole unary call arrived in a Call frame. Settles with the response
   * message or the error's gRPC trailers; `cancel` fires if the caller gives up (a plain
   * hook, not an AbortController: one per call showed in the callee's profile).
   */
  onCall?: (call: DecodedCall, cancel: CallCancel) => Promise<CallOutcome>;
  /** caller side: the peer said in its hello that it takes Call frames */
  peerTakesCalls?: boolean;
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
  /** unary calls sent as one Call frame (the rest went as streams) */
  framedCalls: number;
  /** round trip of the latest heartbeat, if one came back yet */
  rttMs: number | undefined;
  /** when the peer last spoke (ms since the epoch) */
  lastHeardMs: number;
}

/** what a unary call in Call/Reply frames settles with */
export type CallOutcome = { message: Uint8Array } | { trailers: Headers };

interface PendingCall {
  resolve(outcome: CallOutcome): void;
  reject(err: ConnectError): void;
  maxReplyBytes: number;
  /** a chunked reply: its announced length, and the chunks so far */
  expect?: number;
  chunks?: Uint8Array[];
  received: number;
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
  /** caller side: unary calls sent as Call frames, waiting for their Reply */
  private readonly calls = new Map<number, PendingCall>();
  /** callee side: Call frames being served, to stop one the caller resets */
  private readonly serving = new Map<number, CallCancel>();
  private nextId = 1;
  private lastHeard = Date.now();
  private readonly heartbeat: ReturnType<typeof setInterval>;
  private closedWith: ConnectError | undefined;
  private socketGone = false;
  private messagesReceived = 0;
  private bytesReceived = 0;
  private rttMs: number | undefined;
  private framedCalls = 0;

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
    return this.streams.size + this.calls.size + this.serving.size;
  }

  /** whether call() may be used: the peer takes Call frames */
  get takesCalls(): boolean {
    return this.opts.peerTakesCalls === true;
  }

  stats(): TunnelStats {
    return {
      messagesSent: this.writer.messages,
      bytesSent: this.writer.bytes,
      messagesReceived: this.messagesReceived,
      bytesReceived: this.bytesReceived,
      openStreams: this.openStreams,
      framedCalls: this.framedCalls,
      rttMs: this.rttMs,
      lastHeardMs: this.lastHeard,
    };
  }

  private freshId(): number {
    let id = this.nextId;
    while (this.streams.has(id) || this.calls.has(id)) id = id >= MAX_STREAM_ID ? 1 : id + 1;
    this.nextId = id >= MAX_STREAM_ID ? 1 : id + 1;
    return id;
  }

  /** caller side: start a call; its request head goes out with the next flush */
  open(head: RequestHead): TunnelStream {
    if (this.closedWith) throw this.closedWith;
    const id = this.freshId();
    const s = new TunnelStream(id, this, "caller");
    this.streams.set(id, s);
    s.queue(FrameType.RequestHead, encodeRequestHead(head));
    return s;
  }

  /**
   * caller side: a unary call in one Call frame (only if takesCalls). The outcome
   * rejects with the tunnel's error if it closes first; cancelCall stops it.
   */
  call(head: CallHead, message: Uint8Array, maxReplyBytes: number): { id: number; outcome: Promise<CallOutcome> } {
    if (this.closedWith) throw this.closedWith;
    const id = this.freshId();
    this.framedCalls++;
    const outcome = new Promise<CallOutcome>((resolve, reject) => {
      this.calls.set(id, { resolve, reject, maxReplyBytes, received: 0 });
    });
    this.writer.queue(FrameType.Call, id, encodeCall(head, message));
    return { id, outcome };
  }

  /** caller side: give up on a call (deadline, cancel); the callee hears it as a Reset */
  cancelCall(id: number, err: ConnectError): void {
    const pending = this.calls.get(id);
    if (pending === undefined) return;
    this.calls.delete(id);
    this.writer.queue(FrameType.Reset, id, encodeReset({ code: err.code, message: err.rawMessage }));
    pending.reject(err);
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
      case FrameType.Call:
        this.serveCall(f.stream, f.payload);
        return;
      case FrameType.Reply:
        this.receiveReply(f.stream, f.payload);
        return;
    }
    const pending = this.calls.get(f.stream);
    if (pending !== undefined) {
      if (f.type === FrameType.Data) this.receiveReplyChunk(f.stream, pending, f.payload, f.flags);
      else if (f.type === FrameType.Reset) {
        const r = decodeReset(f.payload);
        this.calls.delete(f.stream);
        pending.reject(new ConnectError(r.message, r.code));
      }
      return;
    }
    const served = this.serving.get(f.stream);
    if (served !== undefined) {
      if (f.type === FrameType.Reset) {
        const r = decodeReset(f.payload);
        this.serving.delete(f.stream);
        served.cancel(new ConnectError(r.message, r.code));
      }
      return;
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

  private serveCall(id: number, payload: Uint8Array): void {
    const onCall = this.opts.onCall;
    if (onCall === undefined || this.serving.has(id) || this.streams.has(id)) {
      const why = onCall ? "stream id in use" : "this end does not serve calls";
      this.writer.queue(FrameType.Reset, id, encodeReset({ code: Code.Internal, message: `tunnel: ${why}` }));
      return;
    }
    const call = decodeCall(payload);
    const ac = new CallCancel();
    this.serving.set(id, ac);
    onCall(call, ac).then(
      (out) => this.sendReply(id, ac, out),
      (e: unknown) => {
        if (this.serving.get(id) !== ac) return;
        this.serving.delete(id);
        const err = ConnectError.from(e, Code.Internal);
        this.writer.queue(FrameType.Reset, id, encodeReset({ code: err.code, message: err.rawMessage }));
      },
    );
  }

  private sendReply(id: number, ac: CallCancel, out: CallOutcome): void {
    // reset by the caller, or the tunnel closed: nobody waits for this answer
    if (this.serving.get(id) !== ac) return;
    if ("trailers" in out) {
      this.serving.delete(id);
      this.writer.queue(FrameType.Reply, id, encodeReplyError(out.trailers));
      return;
    }
    if (out.message.byteLength <= MAX_DATA_FRAME) {
      this.serving.delete(id);
      this.writer.queue(FrameType.Reply, id, encodeReplyMessage(out.message));
      return;
    }
    this.writer.queue(FrameType.Reply, id, encodeReplyChunked(out.message.byteLength));
    void this.pumpReply(id, ac, out.message);
  }

  /** a large reply in frame-sized chunks, so other calls' frames interleave with it */
  private async pumpReply(id: number, ac: CallCancel, message: Uint8Array): Promise<void> {
    for (let at = 0; at < message.byteLength; at += MAX_DATA_FRAME) {
      const room = this.writer.writable;
      if (room) await room;
      if (this.serving.get(id) !== ac) return;
      const end = Math.min(message.byteLength, at + MAX_DATA_FRAME);
      this.writer.queue(FrameType.Data, id, message.subarray(at, end), end === message.byteLength ? FLAG_END : 0);
    }
    this.serving.delete(id);
  }

  private receiveReply(id: number, payload: Uint8Array): void {
    const pending = this.calls.get(id);
    // the caller gave up already (its Reset and this reply crossed)
    if (pending === undefined) return;
    const reply = decodeReply(payload);
    if (reply.kind === ReplyKind.Chunked) {
      if (reply.length > pending.maxReplyBytes) {
        this.cancelCall(id, new ConnectError(`message size ${reply.length} is larger than configured readMaxBytes ${pending.maxReplyBytes}`, Code.ResourceExhausted));
        return;
      }
      pending.expect = reply.length;
      pending.chunks = [];
      return;
    }
    this.calls.delete(id);
    if (reply.kind === ReplyKind.Error) pending.resolve({ trailers: reply.trailers });
    else if (reply.message.byteLength > pending.maxReplyBytes) {
      pending.reject(new ConnectError(`message size ${reply.message.byteLength} is larger than configured readMaxBytes ${pending.maxReplyBytes}`, Code.ResourceExhausted));
    } else pending.resolve({ message: reply.message });
  }

  private receiveReplyChunk(id: number, pending: PendingCall, payload: Uint8Array, flags: number): void {
    if (pending.chunks === undefined || pending.expect === undefined) throw new Error("reply data before a chunked reply");
    pending.received += payload.byteLength;
    if (pending.received > pending.expect) throw new Error("reply longer than announced");
    pending.chunks.push(payload);
    if ((flags & FLAG_END) === 0) return;
    if (pending.received !== pending.expect) throw new Error("reply shorter than announced");
    this.calls.delete(id);
    const message = new Uint8Array(pending.expect);
    let at = 0;
    for (const c of pending.chunks) {
      message.set(c, at);
      at += c.byteLength;
    }
    pending.resolve({ message });
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
    for (const c of this.calls.values()) c.reject(err);
    this.calls.clear();
    for (const ac of this.serving.values()) ac.cancel(err);
    this.serving.clear();
    this.opts.onClose?.(err);
  }
}
