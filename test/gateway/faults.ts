// Fault injection for test agents: replace some methods of the real agent routes.
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";

type Routes = (router: ConnectRouter) => void;

export function overriding(overrides: Record<string, Record<string, (...args: never[]) => unknown>>): (routes: Routes) => Routes {
  return (routes) => (router) => {
    const proxy: ConnectRouter = {
      handlers: router.handlers,
      rpc: router.rpc.bind(router) as ConnectRouter["rpc"],
      service(desc, impl, options) {
        router.service(desc, { ...impl, ...(overrides[desc.typeName] ?? {}) } as typeof impl, options);
        return proxy;
      },
    };
    routes(proxy);
  };
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
