// The client keys and TLS material of one process, made once at start and shared by
// every listener it runs (gateway, embedded agent, tunnel, metrics).
import type { SecurityConfig } from "../config/config";
import type { Logger } from "../observe/log";
import { createApiKeys, metricsKeyCheck, type ApiKeys } from "./api-keys";
import { watchTlsFiles, type TlsSource } from "./tls-files";

export interface Protection {
  keys: ApiKeys;
  /** undefined = plain text */
  tls: TlsSource | undefined;
  /** may this request read /metrics? */
  metricsAllowed(header: Headers): boolean;
  /** SIGHUP: re-read the key files (certificates reload by themselves when they change) */
  reload(): void;
  close(): void;
}

/** Throws ConfigError for unreadable or unusable key and certificate files. */
export function createProtection(cfg: SecurityConfig, log: Logger, ports: string): Protection {
  const keys = createApiKeys(cfg.keys);
  const tls = cfg.tls ? watchTlsFiles(cfg.tls, log) : undefined;
  if (keys.open) {
    log.warn(`no API keys configured: anyone who can reach ${ports} can read, write and flush (set --api-key)`);
  } else {
    log.info("API keys required", { ...keys.counts() });
  }
  if (tls) log.info("TLS on", { cert: cfg.tls!.certFile, clientCerts: cfg.tls!.clientCaFile ? "required" : "not asked" });
  return {
    keys,
    tls,
    metricsAllowed: metricsKeyCheck(cfg.metricsKeys),
    reload() {
      try {
        keys.reload();
        if (!keys.open) log.info("API keys reloaded", { ...keys.counts() });
      } catch (e) {
        log.error("API key files could not be reloaded; the previous keys stay in force", { err: e as Error });
      }
    },
    close: () => tls?.close(),
  };
}
