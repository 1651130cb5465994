// Process and RPC metrics. prom-client's default collectors report nonsense under Bun
// (empty GC histogram, V8 heap spaces, wrong node version), so we export our own.
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { Gauge, Registry } from "./prom";
import { CounterSeries, HistogramSeries, SeriesCounter, SeriesHistogram } from "./series";
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
  // the series of each method, looked up once (series.ts)
  const byMethod = new WeakMap<object, { method: string; latency: HistogramSeries; calls: Map<string, CounterSeries> }>();
  return (next) => async (req) => {
    let m = byMethod.get(req.method);
    if (m === undefined) {
      const method = `${req.service.typeName}/${req.method.name}`;
      byMethod.set(req.method, (m = { method, latency: latency.labels({ component, method }), calls: new Map() }));
    }
    const t0 = performance.now();
    let code = "ok";
    try {
      return await next(req);
    } catch (e) {
      code = codeLabel(ConnectError.from(e).code);
      throw e;
    } finally {
      let c = m.calls.get(code);
      if (c === undefined) m.calls.set(code, (c = calls.labels({ component, method: m.method, code })));
      c.inc();
      m.latency.observe((performance.now() - t0) / 1000);
    }
  };
}

type RpcCalls = SeriesCounter<"component" | "method" | "code">;
type RpcLatency = SeriesHistogram<"component" | "method">;

function rpcMetrics(registry: Registry): { calls: RpcCalls; latency: RpcLatency } {
  const existing = registry.getSingleMetric("alvd_rpc_requests_total");
  if (existing) {
    return {
      calls: existing as unknown as RpcCalls,
      latency: registry.getSingleMetric("alvd_rpc_duration_seconds") as unknown as RpcLatency,
    };
  }
  const calls = new SeriesCounter("alvd_rpc_requests_total", "RPCs handled, by method and gRPC status code", ["component", "method", "code"], registry);
  const latency = new SeriesHistogram(
    "alvd_rpc_duration_seconds",
    "RPC handling time (streams: until the stream ends)",
    ["component", "method"],
    [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registry,
  );
  return { calls, latency };
}
