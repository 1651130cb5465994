// A Transport that calls service implementations in the same process directly: no
// serialization, no HTTP framing, the request message object is handed to the
// handler as is. For the embedded agent. It captures what a routes function
// registers (the same function that serves the agent's port and the tunnel), so the
// agent needs nothing special, and runs the registered interceptors.
//
// Unlike createRouterTransport (which encodes every message and runs the full
// Connect protocol in memory), messages are shared, not copied: neither side may
// mutate a message after handing it over.
import { create, isMessage, type DescMessage, type DescMethod, type DescMethodStreaming, type DescMethodUnary, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createMethodImplSpec,
  createServiceImplSpec,
  type ConnectRouter,
  type ContextValues,
  type Interceptor,
  type MethodImplSpec,
  type StreamRequest,
  type StreamResponse,
  type Transport,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { CallCancel, CallContext } from "./call-context";
import type { FloatAllocator } from "./wire-floats";

interface Registered {
  spec: MethodImplSpec;
  interceptors: Interceptor[];
}

const PROTOCOL = "in-process";
/** Why a finished call's signal fires (as Connect's own handlers do); one shared reason
 * because building an abort Error per call costs a stack trace each time. */
const FINISHED = new ConnectError("call finished", Code.Canceled);
type HeaderInit = ConstructorParameters<typeof Headers>[0];

function key(m: DescMethod): string {
  return `/${m.parent.typeName}/${m.name}`;
}

/** What `routes` registers, by path; `outer` interceptors (the listener's) wrap each method's own. */
function capture(routes: (router: ConnectRouter) => void, outer: Interceptor[] = []): Map<string, Registered> {
  const methods = new Map<string, Registered>();
  const router: ConnectRouter = {
    handlers: [],
    service(service, impl, options) {
      const spec = createServiceImplSpec(service, impl);
      for (const m of service.methods) methods.set(key(m), { spec: spec.methods[m.localName]!, interceptors: [...outer, ...(options?.interceptors ?? [])] });
      return this;
    },
    rpc(method, impl, options) {
      methods.set(key(method), { spec: createMethodImplSpec(method, impl), interceptors: [...outer, ...(options?.interceptors ?? [])] });
      return this;
    },
  };
  routes(router);
  return methods;
}

function toMessage<D extends DescMessage>(desc: D, m: MessageInitShape<D> | MessageShape<D>): MessageShape<D> {
  return isMessage(m, desc) ? (m as MessageShape<D>) : create(desc, m as MessageInitShape<D>);
}

function wrap<Fn>(next: Fn, interceptors: Interceptor[]): Fn {
  let fn = next as unknown as Parameters<Interceptor>[0];
  for (let i = interceptors.length - 1; i >= 0; i--) fn = interceptors[i]!(fn);
  return fn as unknown as Fn;
}

async function* mapInput<D extends DescMessage>(desc: D, input: AsyncIterable<MessageInitShape<D>>): AsyncGenerator<MessageShape<D>> {
  for await (const m of input) yield toMessage(desc, m);
}

async function* mapOutput<D extends DescMessage>(desc: D, out: AsyncIterable<MessageInitShape<D>>, signal: AbortSignal, done: () => void): AsyncGenerator<MessageShape<D>> {
  const it = out[Symbol.asyncIterator]();
  // One abort listener for the whole stream (not one per message): it fails the message
  // being waited for, if any, and every wait after it.
  let failWait: ((e: unknown) => void) | undefined;
  const onAbort = () => failWait?.(ConnectError.from(signal.reason, Code.Canceled));
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    for (;;) {
      if (signal.aborted) throw ConnectError.from(signal.reason, Code.Canceled);
      const r = await new Promise<IteratorResult<MessageInitShape<D>>>((resolve, reject) => {
        failWait = reject;
        it.next().then(resolve, reject);
      });
      failWait = undefined;
      if (r.done === true) return;
      yield toMessage(desc, r.value);
    }
  } catch (e) {
    throw ConnectError.from(e);
  } finally {
    signal.removeEventListener("abort", onAbort);
    // Tell the handler we are gone (early break, error) and release the deadline timer.
    done();
    void it.return?.();
  }
}

/** the context of each response unary() made, for responseMetadata */
const contextOf = new WeakMap<object, CallContext>();

/**
 * A unary response's headers and trailers, undefined for those nobody set: most calls
 * set none, and building empty Headers to read nothing out of them costs per call. A
 * response an interceptor replaced is read through its own getters.
 */
export function responseMetadata(res: UnaryResponse): { header: Headers | undefined; trailer: Headers | undefined } {
  const ctx = contextOf.get(res);
  if (ctx === undefined) return { header: res.header, trailer: res.trailer };
  return { header: ctx.responseHeaderIfAny, trailer: ctx.responseTrailerIfAny };
}

export interface DirectTransport extends Transport {
  /** the unary methods the routes registered, by request path ("/vald.v1.Search/Search") */
  readonly unaryMethods: ReadonlyMap<string, DescMethodUnary>;
  /** the streaming methods, likewise */
  readonly streamMethods: ReadonlyMap<string, DescMethodStreaming>;
  /** where a method's request vectors are decoded to (decodeWithFloats), undefined = fresh arrays */
  floatsFor(method: DescMethod): FloatAllocator | undefined;
  /** Transport's unary, also cancelled by a CallCancel */
  unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    signal: AbortSignal | CallCancel | undefined,
    timeoutMs: number | undefined,
    header: HeaderInit,
    input: MessageInitShape<I>,
    contextValues?: ContextValues,
  ): Promise<UnaryResponse<I, O>>;
}

/** Chooses, per method, where its request vectors are decoded to (see FloatAllocator). */
export type FloatPlacement = (method: DescMethod) => FloatAllocator | undefined;

/**
 * `interceptors` run around every method, outside those the routes register themselves;
 * `floats` places the request vectors of the methods it names.
 */
export function createDirectTransport(routes: (router: ConnectRouter) => void, interceptors: Interceptor[] = [], floats?: FloatPlacement): DirectTransport {
  const methods = capture(routes, interceptors);
  const unaryMethods = new Map<string, DescMethodUnary>();
  const streamMethods = new Map<string, DescMethodStreaming>();
  for (const [path, r] of methods) {
    if (r.spec.kind === "unary") unaryMethods.set(path, r.spec.method as DescMethodUnary);
    else streamMethods.set(path, r.spec.method as DescMethodStreaming);
  }
  const lookup = (m: DescMethod): Registered => {
    const r = methods.get(key(m));
    if (r === undefined) throw new ConnectError(`${m.parent.typeName}.${m.name} is not implemented`, Code.Unimplemented);
    return r;
  };
  const context = (method: DescMethod, signal: AbortSignal | CallCancel | undefined, timeoutMs: number | undefined, header: HeaderInit, values: ContextValues | undefined) =>
    new CallContext({
      service: method.parent,
      method,
      protocolName: PROTOCOL,
      url: key(method),
      timeoutMs: timeoutMs !== undefined && timeoutMs > 0 ? timeoutMs : undefined,
      requestSignal: signal,
      requestHeader: header,
      contextValues: values,
    });

  const placements = new Map<DescMethod, FloatAllocator | undefined>();
  const floatsFor = (m: DescMethod): FloatAllocator | undefined => {
    if (floats === undefined) return undefined;
    if (!placements.has(m)) placements.set(m, floats(m));
    return placements.get(m);
  };

  return {
    unaryMethods,
    streamMethods,
    floatsFor,
    async unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | CallCancel | undefined,
      timeoutMs: number | undefined,
      header: HeaderInit,
      input: MessageInitShape<I>,
      contextValues?: ContextValues,
    ): Promise<UnaryResponse<I, O>> {
      const reg = lookup(method);
      if (reg.spec.kind !== "unary") throw new ConnectError(`${key(method)} is not unary`, Code.Internal);
      const impl = reg.spec.impl as unknown as (req: MessageShape<I>, ctx: ReturnType<typeof context>) => Promise<MessageInitShape<O>> | MessageInitShape<O>;
      const ctx = context(method, signal, timeoutMs, header, contextValues);
      // headers are built on first read: most calls never touch them
      const call = async (req: UnaryRequest<I, O>): Promise<UnaryResponse<I, O>> => {
        const out = await ctx.race(Promise.resolve(impl(req.message, ctx)));
        const res: UnaryResponse<I, O> = {
          stream: false,
          service: method.parent,
          method,
          get header() {
            return ctx.responseHeader;
          },
          get trailer() {
            return ctx.responseTrailer;
          },
          message: toMessage(method.output, out),
        };
        contextOf.set(res, ctx);
        return res;
      };
      try {
        return await wrap(call, reg.interceptors)({
          stream: false,
          service: method.parent,
          method,
          requestMethod: "POST",
          url: key(method),
          // on first read, like the headers: an AbortController per call showed in profiles
          get signal() {
            return ctx.signal;
          },
          get header() {
            return ctx.requestHeader;
          },
          contextValues: ctx.values,
          message: toMessage(method.input, input),
        });
      } catch (e) {
        throw ConnectError.from(e);
      } finally {
        ctx.abort(FINISHED);
      }
    },

    async stream<I extends DescMessage, O extends DescMessage>(
      method: DescMethodStreaming<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeaderInit,
      input: AsyncIterable<MessageInitShape<I>>,
      contextValues?: ContextValues,
    ): Promise<StreamResponse<I, O>> {
      const reg = lookup(method);
      const ctx = context(method, signal, timeoutMs, header, contextValues);
      const call = async (req: StreamRequest<I, O>): Promise<StreamResponse<I, O>> => {
        let out: AsyncIterable<MessageInitShape<O>>;
        const spec = reg.spec;
        switch (spec.kind) {
          case "server_streaming": {
            let first: MessageShape<I> | undefined;
            for await (const m of req.message) {
              first = m;
              break;
            }
            if (first === undefined) throw new ConnectError("server streaming call without a request", Code.InvalidArgument);
            out = (spec.impl as unknown as (r: MessageShape<I>, c: typeof ctx) => AsyncIterable<MessageInitShape<O>>)(first, ctx);
            break;
          }
          case "bidi_streaming":
            out = (spec.impl as unknown as (r: AsyncIterable<MessageShape<I>>, c: typeof ctx) => AsyncIterable<MessageInitShape<O>>)(req.message, ctx);
            break;
          case "client_streaming": {
            const impl = spec.impl as unknown as (r: AsyncIterable<MessageShape<I>>, c: typeof ctx) => Promise<MessageInitShape<O>>;
            const single = ctx.race(impl(req.message, ctx));
            out = (async function* () {
              yield await single;
            })();
            break;
          }
          default:
            throw new ConnectError(`${key(method)} is not streaming`, Code.Internal);
        }
        return {
          stream: true,
          service: method.parent,
          method,
          header: ctx.responseHeader,
          trailer: ctx.responseTrailer,
          message: mapOutput(method.output, out, ctx.signal, () => ctx.abort(FINISHED)),
        };
      };
      try {
        return await wrap(call, reg.interceptors)({
          stream: true,
          service: method.parent,
          method,
          requestMethod: "POST",
          url: key(method),
          signal: ctx.signal,
          header: ctx.requestHeader,
          contextValues: ctx.values,
          message: mapInput(method.input, input),
        });
      } catch (e) {
        ctx.abort(FINISHED);
        throw ConnectError.from(e);
      }
    },
  };
}
