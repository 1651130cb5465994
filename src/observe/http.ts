// /metrics, /healthz and /readyz on the metrics port. Bun.serve rather than node:http:
// this port is up before anything else, and node:http costs ~10 ms of start-up to load.
//
// With TLS the port serves HTTPS with the process's certificate but asks for no client
// certificate: health probes (kubelet, load balancers) cannot present one, so /metrics
// is guarded by --metrics-api-key instead. Bun.serve cannot swap its certificate, so a
// renewed one is put in place by listening anew on the same port; open connections
// finish on the old listener.
import type { Server } from "bun";
import type { Registry } from "./prom";
import type { Address } from "../config/config";
import type { TlsSource, TlsMaterial } from "../security/tls-files";

export interface ObserveServer {
  readonly port: number;
  close(): Promise<void>;
}

export interface ObserveOptions {
  /** decides /readyz: e.g. the index is loaded and the gRPC port is serving */
  ready: () => boolean;
  /** may this request read /metrics (--metrics-api-key)? default: yes */
  metricsAllowed?: (header: Headers) => boolean;
  tls?: TlsSource;
}

const text = (status: number, body: string, headers: Record<string, string> = {}) =>
  new Response(body, { status, headers: { "content-type": "text/plain", ...headers } });

export async function serveObserve(addr: Address, registry: Registry, opts: ObserveOptions): Promise<ObserveServer> {
  const allowed = opts.metricsAllowed ?? (() => true);
  const serve = (port: number, tls: TlsMaterial | undefined): Server<undefined> =>
    Bun.serve({
      hostname: addr.host,
      port,
      // a refused bind must fail start-up, not fall over to another process's port
      reusePort: false,
      tls: tls ? { cert: tls.cert, key: tls.key } : undefined,
      async fetch(req) {
        const path = new URL(req.url).pathname;
        if (path === "/metrics") {
          if (!allowed(req.headers)) {
            return text(401, "/metrics needs the metrics API key: send 'authorization: Bearer <key>'\n", { "www-authenticate": "Bearer" });
          }
          try {
            return new Response(await registry.metrics(), { headers: { "content-type": registry.contentType } });
          } catch (e) {
            return text(500, (e as Error).message);
          }
        }
        if (path === "/healthz") return text(200, "ok\n");
        if (path === "/readyz") return opts.ready() ? text(200, "ready\n") : text(503, "not ready\n");
        return new Response(null, { status: 404 });
      },
      error: (e) => text(500, e.message),
    });
  let server = serve(addr.port, opts.tls?.current());
  const port = server.port ?? addr.port;
  const unsubscribe = opts.tls?.onChange((m) => {
    void server.stop(false);
    server = serve(port, m);
  });
  return {
    port,
    close: () => {
      unsubscribe?.();
      return server.stop(true);
    },
  };
}
