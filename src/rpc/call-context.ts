// The HandlerContext of a call the direct transport runs in-process. Connect's
// createHandlerContext builds two abort controllers linked by listeners, a deadline
// controller, three Headers and two object copies per call; on the unary paths that
// costs about as much as decoding the request. This one has at most one listener and
// one timer, and builds its controller and Headers only when someone reads them.
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type ContextValues, type HandlerContext } from "@connectrpc/connect";

type HeaderInit = ConstructorParameters<typeof Headers>[0];

export interface CallContextInit {
  service: DescService;
  method: DescMethod;
  protocolName: string;
  url: string;
  /** the caller's deadline; undefined: none */
  timeoutMs: number | undefined;
  /** the caller's cancellation */
  requestSignal: AbortSignal | CallCancel | undefined;
  requestHeader: HeaderInit;
  contextValues: ContextValues | undefined;
}

/**
 * A caller's cancellation without an AbortSignal: the HTTP/2 unary path fires it when
 * the client's stream closes early. An AbortController and a listener on its signal per
 * call showed in that path's profile; a context that nobody else watches needs neither.
 * One listener at most (the call's context).
 */
export class CallCancel {
  private fired = false;
  private why: unknown;
  private listener: ((reason: unknown) => void) | undefined;

  cancel(reason: unknown): void {
    if (this.fired) return;
    this.fired = true;
    this.why = reason;
    const l = this.listener;
    this.listener = undefined;
    l?.(reason);
  }

  /** `fn` runs once, at once if already cancelled */
  listen(fn: (reason: unknown) => void): void {
    if (this.fired) fn(this.why);
    else this.listener = fn;
  }

  unlisten(): void {
    this.listener = undefined;
  }
}

function reasonOf(signal: AbortSignal): unknown {
  return signal.reason ?? new ConnectError("the call was aborted", Code.Canceled);
}

export class CallContext implements HandlerContext {
  readonly service: DescService;
  readonly method: DescMethod;
  readonly protocolName: string;
  readonly url: string;
  readonly requestMethod = "POST";
  readonly values: ContextValues;
  readonly timeoutMs: () => number | undefined;
  /** made when someone reads `signal`; most unary calls never do (race() needs none) */
  private controller: AbortController | undefined;
  private aborted = false;
  private reason: unknown;
  private readonly headerInit: HeaderInit;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly requestSignal: AbortSignal | CallCancel | undefined;
  private onRequestAbort: (() => void) | undefined;
  /** rejects the pending race() as soon as the call is aborted */
  private rejectRace: ((e: ConnectError) => void) | undefined;
  private requestHeader_: Headers | undefined;
  private responseHeader_: Headers | undefined;
  private responseTrailer_: Headers | undefined;

  constructor(init: CallContextInit) {
    this.service = init.service;
    this.method = init.method;
    this.protocolName = init.protocolName;
    this.url = init.url;
    this.values = init.contextValues ?? createContextValues();
    this.headerInit = init.requestHeader;
    this.requestSignal = init.requestSignal;
    const ms = init.timeoutMs;
    if (ms === undefined) {
      this.timeoutMs = () => undefined;
    } else {
      const deadline = Date.now() + ms;
      this.timeoutMs = () => deadline - Date.now();
      const expire = () => this.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
      if (ms <= 0) expire();
      else this.timer = setTimeout(expire, ms);
    }
    const parent = init.requestSignal;
    if (parent instanceof CallCancel) {
      if (!this.aborted) parent.listen((reason) => this.abort(reason));
    } else if (parent !== undefined && !this.aborted) {
      if (parent.aborted) this.abort(reasonOf(parent));
      else {
        this.onRequestAbort = () => this.abort(reasonOf(parent));
        parent.addEventListener("abort", this.onRequestAbort, { once: true });
      }
    }
  }

  get signal(): AbortSignal {
    let c = this.controller;
    if (c === undefined) {
      c = this.controller = new AbortController();
      if (this.aborted) c.abort(this.reason);
    }
    return c.signal;
  }

  get requestHeader(): Headers {
    return (this.requestHeader_ ??= new Headers(this.headerInit));
  }

  get responseHeader(): Headers {
    return (this.responseHeader_ ??= new Headers());
  }

  get responseTrailer(): Headers {
    return (this.responseTrailer_ ??= new Headers());
  }

  /** the response headers if anyone made them (undefined: none were set) */
  get responseHeaderIfAny(): Headers | undefined {
    return this.responseHeader_;
  }

  get responseTrailerIfAny(): Headers | undefined {
    return this.responseTrailer_;
  }

  /** ends the call: the timer and the caller's signal let go of it, its signal fires */
  abort(reason: unknown): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const parent = this.requestSignal;
    if (parent instanceof CallCancel) parent.unlisten();
    else if (this.onRequestAbort !== undefined) parent?.removeEventListener("abort", this.onRequestAbort);
    this.onRequestAbort = undefined;
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
    const reject = this.rejectRace;
    this.rejectRace = undefined;
    reject?.(ConnectError.from(reason, Code.Canceled));
  }

  /** the work's outcome, or the abort reason as soon as the call is aborted (deadline, cancel) */
  race<T>(work: Promise<T>): Promise<T> {
    if (this.aborted) return Promise.reject(ConnectError.from(this.reason, Code.Canceled));
    return new Promise<T>((resolve, reject) => {
      this.rejectRace = reject;
      work.then(resolve, reject);
    });
  }
}

/**
 * True when the call's context fails a unary call itself the moment its signal fires
 * (CallContext.race), so a handler need not listen to the signal too. Connect's own
 * contexts only signal: there the handler has to give up by itself.
 */
export function racesItsSignal(ctx: HandlerContext): boolean {
  return ctx instanceof CallContext;
}
