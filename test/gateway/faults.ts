// Fault injection for test agents: replace or wrap some methods of the real agent routes.
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";

type Routes = (router: ConnectRouter) => void;
type Method = (...args: never[]) => unknown;

/** routes whose services' methods pass through `edit(service, impl)` on registration */
function rewriting(edit: (service: string, impl: Record<string, Method>) => Record<string, Method>): (routes: Routes) => Routes {
  return (routes) => (router) => {
    const proxy: ConnectRouter = {
      handlers: router.handlers,
      rpc: router.rpc.bind(router) as ConnectRouter["rpc"],
      service(desc, impl, options) {
        router.service(desc, edit(desc.typeName, impl as Record<string, Method>) as typeof impl, options);
        return proxy;
      },
    };
    routes(proxy);
  };
}

export function overriding(overrides: Record<string, Record<string, Method>>): (routes: Routes) => Routes {
  return rewriting((service, impl) => ({ ...impl, ...(overrides[service] ?? {}) }));
}

/** the real method, answered `ms` late */
export function delaying(service: string, method: string, ms: number): (routes: Routes) => Routes {
  return rewriting((s, impl) => {
    if (s !== service) return impl;
    const orig = impl[method] as (...a: unknown[]) => Promise<unknown>;
    return { ...impl, [method]: async (...a: unknown[]) => (await Bun.sleep(ms), orig(...a)) };
  });
}

export const fail = (code: Code, msg = "injected failure") => () => {
  throw new ConnectError(msg, code);
};

/** never answers until the call is cancelled */
export const hang = () => new Promise<never>(() => {});

/** Like hang, but counts the calls whose signal fired (the caller's deadline or cancel reached the agent). */
export function hangCounting(): { handler: (req: unknown, ctx: { signal: AbortSignal }) => Promise<never>; aborted(): number } {
  let aborted = 0;
  return {
    handler: (_req, ctx) =>
      new Promise<never>((_, reject) =>
        ctx.signal.addEventListener("abort", () => {
          aborted++;
          reject(new ConnectError("aborted", Code.Canceled));
        }),
      ),
    aborted: () => aborted,
  };
}
