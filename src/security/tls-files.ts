// The PEM files behind TLS, read at start and again whenever one of them changes
// (cert-manager and Kubernetes secrets replace files in place or swap symlinks).
// A change that does not parse keeps the old material serving and says why.
import { readFileSync, unwatchFile, watchFile } from "node:fs";
import { createSecureContext } from "node:tls";
import type { TlsFiles } from "../config/config";
import { ConfigError } from "../config/parse";
import type { Logger } from "../observe/log";

export interface TlsMaterial {
  cert: string;
  key: string;
  /** set = require and verify client certificates against it */
  clientCa: string | undefined;
}

export interface TlsSource {
  current(): TlsMaterial;
  /** called with new material after a file changed and it parsed; returns an unsubscribe */
  onChange(listener: (m: TlsMaterial) => void): () => void;
  close(): void;
}

/** how often the files are stat()ed; fs.watch misses symlink swaps, polling does not */
const POLL_MS = 2000;

function readPem(path: string, flag: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`${flag}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Reads and checks the files; a ConfigError names the flag and what is wrong. */
export function readTlsMaterial(files: TlsFiles): TlsMaterial {
  const m: TlsMaterial = {
    cert: readPem(files.certFile, "--tls-cert-file"),
    key: readPem(files.keyFile, "--tls-key-file"),
    clientCa: files.clientCaFile === undefined ? undefined : readPem(files.clientCaFile, "--tls-client-ca-file"),
  };
  if (!m.cert.includes("-----BEGIN CERTIFICATE-----")) throw new ConfigError(`--tls-cert-file: ${files.certFile} holds no PEM certificate`);
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(m.key)) throw new ConfigError(`--tls-key-file: ${files.keyFile} holds no PEM private key`);
  if (m.clientCa !== undefined && !m.clientCa.includes("-----BEGIN CERTIFICATE-----")) {
    throw new ConfigError(`--tls-client-ca-file: ${files.clientCaFile} holds no PEM certificate`);
  }
  try {
    createSecureContext({ cert: m.cert, key: m.key, ca: m.clientCa });
  } catch (e) {
    throw new ConfigError(`--tls-cert-file/--tls-key-file: ${(e as Error).message} (does the key belong to the certificate?)`);
  }
  return m;
}

export function watchTlsFiles(files: TlsFiles, log: Logger): TlsSource {
  let material = readTlsMaterial(files);
  const listeners = new Set<(m: TlsMaterial) => void>();
  const paths = [files.certFile, files.keyFile, ...(files.clientCaFile ? [files.clientCaFile] : [])];
  let pending: ReturnType<typeof setTimeout> | undefined;
  const changed = () => {
    // cert and key are usually replaced one after the other: read them once both landed
    clearTimeout(pending);
    pending = setTimeout(() => {
      try {
        const next = readTlsMaterial(files);
        if (next.cert === material.cert && next.key === material.key && next.clientCa === material.clientCa) return;
        material = next;
      } catch (e) {
        log.error("TLS files changed but cannot be used; still serving the previous certificate", { err: e as Error });
        return;
      }
      log.info("TLS certificate reloaded", { cert: files.certFile });
      for (const l of listeners) {
        try {
          l(material);
        } catch (e) {
          log.error("a listener could not take the reloaded certificate", { err: e as Error });
        }
      }
    }, 200);
    pending.unref?.();
  };
  for (const p of paths) watchFile(p, { interval: POLL_MS, persistent: false }, changed);
  return {
    current: () => material,
    onChange(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    close() {
      clearTimeout(pending);
      for (const p of paths) unwatchFile(p, changed);
      listeners.clear();
    },
  };
}
