// alvd agent: serves vald.v1.* and core.v1.Agent on its own port and dials servers.
import type { AgentConfig } from "../config/config";
import { serveObserve } from "../observe/http";
import type { Logger } from "../observe/log";
import { createRegistry } from "../observe/metrics";

export async function runAgent(cfg: AgentConfig, log: Logger): Promise<{ stop(): Promise<void> }> {
  const registry = createRegistry();
  const observe = await serveObserve(cfg.metrics, registry, () => false);
  log.info("agent started (services not built yet)");
  return { stop: () => observe.close() };
}
