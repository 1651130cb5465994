// Process and RPC metrics. prom-client's default collectors report nonsense under Bun
// (empty GC histogram, V8 heap spaces, wrong node version), so we export our own.
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { Counter, Gauge, Histogram, Registry } from "./prom";
import { monitorEventLoopDelay } from "node:perf_hooks";

export function createRegistry(): Registry {
  const registry = new Registry();
  const start = process.cpuUsage();
  const started = Date.now();
  const lag = monitorEventLoopDelay({ resolution: 20 });
  lag.enable();
  new Gauge({
    name: "alvd_process_resident_memory_bytes",
    help: "Resident set size of the process",
    registers: [registry],
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new Gauge({
    name: "alvd_process_cpu_seconds_total",
    help: "User + system CPU time used by the process",
    registers: [registry],
    collect() {
      const u = process.cpuUsage(start);
      this.set((u.user + u.system) / 1e6);
    },
  });
  new Gauge({
    name: "alvd_process_uptime_seconds",
    help: "Seconds since the process started",
    registers: [registry],
    collect() {
      this.set((Date.now() - started) / 1000);
    },
  });
  new Gauge({
    name: "alvd_event_loop_lag_seconds",
    help: "Event loop delay (p99 over the last scrape interval)",
    registers: [registry],
    collect() {
      this.set(lag.percentile(99) / 1e9);
      lag.reset();
    },
  });
  return registry;
}

/** gRPC code as a metric label: "ok", "not_found", "already_exists" … */
export function codeLabel(code: Code | undefined): string {
  if (code === undefined) return "ok";
  const name = Code[code];
  return name === undefined ? "unknown" : name.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/** Counts and times every RPC by method and status code. The server's gateway and its
 * embedded agent share one registry, told apart by the component label. */
export function rpcMetricsInterceptor(registry: Registry, component: string): Interceptor {
  const { calls, latency } = rpcMetrics(registry);
  return (next) => async (req) => {
    const method = `${req.service.typeName}/${req.method.name}`;
    const t0 = performance.now();
    let code = "ok";
    try {
      return await next(req);
    } catch (e) {
      code = codeLabel(ConnectError.from(e).code);
      throw e;
    } finally {
      calls.inc({ component, method, code });
      latency.observe({ component, method }, (performance.now() - t0) / 1000);
    }
  };
}

function rpcMetrics(registry: Registry): { calls: Counter<"component" | "method" | "code">; latency: Histogram<"component" | "method"> } {
  const existing = registry.getSingleMetric("alvd_rpc_requests_total");
  if (existing) {
    return {
      calls: existing as Counter<"component" | "method" | "code">,
      latency: registry.getSingleMetric("alvd_rpc_duration_seconds") as Histogram<"component" | "method">,
    };
  }
  const calls = new Counter({
    name: "alvd_rpc_requests_total",
    help: "RPCs handled, by method and gRPC status code",
    labelNames: ["component", "method", "code"],
    registers: [registry],
  });
  const latency = new Histogram({
    name: "alvd_rpc_duration_seconds",
    help: "RPC handling time (streams: until the stream ends)",
    labelNames: ["component", "method"],
    buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  return { calls, latency };
}
