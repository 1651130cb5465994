// /metrics, /healthz and /readyz on the metrics port.
import * as http from "node:http";
import type { Registry } from "prom-client";
import type { Address } from "../config/config";

export interface ObserveServer {
  readonly port: number;
  close(): Promise<void>;
}

/** ready() decides /readyz: e.g. the index is loaded and the gRPC port is serving. */
export function serveObserve(addr: Address, registry: Registry, ready: () => boolean): Promise<ObserveServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/metrics") {
      registry.metrics().then(
        (body) => res.writeHead(200, { "content-type": registry.contentType }).end(body),
        (e: Error) => res.writeHead(500).end(e.message),
      );
    } else if (path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else if (path === "/readyz") {
      const ok = ready();
      res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(ok ? "ready\n" : "not ready\n");
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(addr.port, addr.host, () => {
      server.off("error", reject);
      const a = server.address();
      resolve({
        port: typeof a === "object" && a ? a.port : addr.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections?.();
          }),
      });
    });
  });
}
