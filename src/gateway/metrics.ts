// Gateway-side metrics: how each agent answers and how long fan-outs take. Registered
// on the Registry the server exports, so /metrics shows them next to the RPC metrics.
import type { Code } from "@connectrpc/connect";
import { Gauge, Registry } from "../observe/prom";
import { SeriesCounter, SeriesHistogram, type CounterSeries, type HistogramSeries } from "../observe/series";
import { codeLabel } from "../observe/metrics";
import type { AgentSet } from "./agents";

export interface GatewayMetrics {
  /** one call to one agent finished (code label as codeLabel makes it) */
  agentCall(agent: string, method: string, code: Code | undefined, seconds: number): void;
  /** a whole fan-out (all agents it asked) finished */
  fanOut(method: string, agents: number, seconds: number): void;
}

export function gatewayMetrics(registry: Registry, agents?: AgentSet): GatewayMetrics {
  const latencyBuckets = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];
  const calls = new SeriesCounter("alvd_gateway_agent_calls_total", "Calls from the gateway to agents, by agent, method and gRPC status code", ["agent", "method", "code"], registry);
  const callLatency = new SeriesHistogram("alvd_gateway_agent_call_duration_seconds", "Latency of one gateway-to-agent call", ["agent", "method"], latencyBuckets, registry);
  const fanLatency = new SeriesHistogram(
    "alvd_gateway_fanout_duration_seconds",
    "Latency of a fan-out to several agents (until the last answer or the deadline)",
    ["method"],
    latencyBuckets,
    registry,
  );
  const fanWidth = new SeriesHistogram("alvd_gateway_fanout_agents", "Agents asked per fan-out", ["method"], [1, 2, 3, 4, 6, 8, 12, 16, 32, 64], registry);
  if (agents !== undefined) {
    new Gauge({
      name: "alvd_gateway_agents",
      help: "Agents currently connected to the gateway",
      registers: [registry],
      collect() {
        this.set(agents.list().length);
      },
    });
  }
  // the label sets here are few and repeat on every call: their series are kept
  const callChildren = new Map<string, { count: CounterSeries; time: HistogramSeries }>();
  const fanChildren = new Map<string, { time: HistogramSeries; width: HistogramSeries }>();
  return {
    agentCall(agent, method, code, seconds) {
      const key = `${agent}\u0000${method}\u0000${code ?? -1}`;
      let c = callChildren.get(key);
      if (c === undefined) {
        const codeName = codeLabel(code);
        c = { count: calls.labels({ agent, method, code: codeName }), time: callLatency.labels({ agent, method }) };
        callChildren.set(key, c);
      }
      c.count.inc();
      c.time.observe(seconds);
    },
    fanOut(method, n, seconds) {
      let f = fanChildren.get(method);
      if (f === undefined) {
        f = { time: fanLatency.labels({ method }), width: fanWidth.labels({ method }) };
        fanChildren.set(method, f);
      }
      f.time.observe(seconds);
      f.width.observe(n);
    },
  };
}

export const noMetrics: GatewayMetrics = { agentCall() {}, fanOut() {} };
