// alvd server: the Vald gateway, the tunnel endpoint agents dial into, metrics, and
// (by default) an embedded agent.
import type { ConnectRouter } from "@connectrpc/connect";
import type { ServerConfig } from "../config/config";
import { Filter } from "../gen/vald/v1/filter_pb";
import { Flush } from "../gen/vald/v1/flush_pb";
import { Index } from "../gen/vald/v1/index_pb";
import { Insert } from "../gen/vald/v1/insert_pb";
import { Object$ as ObjectService } from "../gen/vald/v1/object_pb";
import { Remove } from "../gen/vald/v1/remove_pb";
import { Search } from "../gen/vald/v1/search_pb";
import { Update } from "../gen/vald/v1/update_pb";
import { Upsert } from "../gen/vald/v1/upsert_pb";
import { serveObserve } from "../observe/http";
import type { Logger } from "../observe/log";
import { createRegistry, rpcMetricsInterceptor } from "../observe/metrics";
import { listenRpc } from "../rpc/listen";

function gatewayRoutes(router: ConnectRouter): void {
  // Methods without an implementation answer Unimplemented until the gateway lands.
  for (const service of [Insert, Update, Upsert, Remove, Search, ObjectService, Index, Flush, Filter]) {
    router.service(service, {});
  }
}

export async function runServer(cfg: ServerConfig, log: Logger): Promise<{ stop(): Promise<void> }> {
  const registry = createRegistry();
  let ready = false;
  const observe = await serveObserve(cfg.metrics, registry, () => ready);
  const rpc = await listenRpc({
    host: cfg.gateway.host,
    port: cfg.gateway.port,
    routes: gatewayRoutes,
    log,
    interceptors: [rpcMetricsInterceptor(registry, "gateway")],
  });
  ready = true;
  log.info("gateway listening", { addr: `${cfg.gateway.host}:${rpc.port}`, metrics: `${cfg.metrics.host}:${observe.port}` });
  return {
    async stop() {
      ready = false;
      await rpc.close();
      await observe.close();
    },
  };
}
