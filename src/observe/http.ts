// /metrics, /healthz and /readyz on the metrics port. Bun.serve rather than node:http:
// this port is up before anything else, and node:http costs ~10 ms of start-up to load.
import type { Registry } from "./prom";
import type { Address } from "../config/config";

export interface ObserveServer {
  readonly port: number;
  close(): Promise<void>;
}

const text = (status: number, body: string) => new Response(body, { status, headers: { "content-type": "text/plain" } });

/** ready() decides /readyz: e.g. the index is loaded and the gRPC port is serving. */
export async function serveObserve(addr: Address, registry: Registry, ready: () => boolean): Promise<ObserveServer> {
  const server = Bun.serve({
    hostname: addr.host,
    port: addr.port,
    // a refused bind must fail start-up, not fall over to another process's port
    reusePort: false,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/metrics") {
        try {
          return new Response(await registry.metrics(), { headers: { "content-type": registry.contentType } });
        } catch (e) {
          return text(500, (e as Error).message);
        }
      }
      if (path === "/healthz") return text(200, "ok\n");
      if (path === "/readyz") return ready() ? text(200, "ready\n") : text(503, "not ready\n");
      return new Response(null, { status: 404 });
    },
    error: (e) => text(500, e.message),
  });
  return {
    port: server.port ?? addr.port,
    close: () => server.stop(true),
  };
}
