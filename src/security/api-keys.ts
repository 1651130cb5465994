// Client keys and the check every client-facing call goes through. Keys come from
// flags/env and from files (re-read on SIGHUP). A key is compared by its SHA-256
// digest with timingSafeEqual against every configured key, so neither the key's
// length nor the position of a mismatch shows in the time taken.
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { Code, ConnectError } from "@connectrpc/connect";
import type { KeySources } from "../config/config";
import { ConfigError } from "../config/parse";
import { isReadOnlyCall } from "./access";

export type Role = "read-write" | "read-only";

interface Keys {
  readWrite: Buffer[];
  readOnly: Buffer[];
}

export interface ApiKeys {
  /** no key configured anywhere: every call is let through */
  readonly open: boolean;
  /** how many keys of each kind are loaded (for the start-up log; never the keys) */
  counts(): { readWrite: number; readOnly: number };
  /** the error a call with these headers gets, or undefined when it may proceed */
  refusal(path: string, header: Headers): ConnectError | undefined;
  /** re-read the key files; on a broken file the old keys stay and this throws */
  reload(): void;
}

const digest = (key: string) => createHash("sha256").update(key).digest();

/** "authorization: Bearer <key>" or "api-key: <key>" (Qdrant's header); undefined when neither */
export function presentedKey(header: Headers): string | undefined {
  const auth = header.get("authorization");
  if (auth !== null) {
    const m = /^\s*bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const apiKey = header.get("api-key");
  if (apiKey !== null && apiKey.trim() !== "") return apiKey.trim();
  return undefined;
}

function matchesAny(given: Buffer, keys: Buffer[]): boolean {
  let hit = false;
  // no early exit: the time does not say which key (if any) matched
  for (const k of keys) hit = timingSafeEqual(given, k) || hit;
  return hit;
}

/** What a key may do; undefined = not a key we know. */
function roleOf(keys: Keys, key: string): Role | undefined {
  const d = digest(key);
  const rw = matchesAny(d, keys.readWrite);
  const ro = matchesAny(d, keys.readOnly);
  return rw ? "read-write" : ro ? "read-only" : undefined;
}

/** One key a line; blank lines and # comments skipped. */
function readKeyFile(path: string, flag: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`${flag}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const keys: string[] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (!/^[\x21-\x7e]+$/.test(line)) throw new ConfigError(`${flag}: ${path}:${i + 1}: a key must be printable ASCII without spaces`);
    keys.push(line);
  }
  if (keys.length === 0) throw new ConfigError(`${flag}: ${path} holds no keys (an empty key file would leave the port open)`);
  return keys;
}

function load(src: KeySources): Keys {
  const rw = [...src.readWrite];
  const ro = [...src.readOnly];
  if (src.readWriteFile !== undefined) rw.push(...readKeyFile(src.readWriteFile, "--api-key-file"));
  if (src.readOnlyFile !== undefined) ro.push(...readKeyFile(src.readOnlyFile, "--read-only-api-key-file"));
  if (rw.length === 0 && ro.length > 0) {
    throw new ConfigError("--read-only-api-key needs at least one --api-key too: with read-only keys alone nothing could ever write");
  }
  return { readWrite: rw.map(digest), readOnly: ro.map(digest) };
}

const MISSING =
  "this server requires an API key: send the header 'authorization: Bearer <key>' (or 'api-key: <key>')";

export function createApiKeys(src: KeySources): ApiKeys {
  let keys = load(src);
  const open = keys.readWrite.length === 0 && keys.readOnly.length === 0;
  return {
    open,
    counts: () => ({ readWrite: keys.readWrite.length, readOnly: keys.readOnly.length }),
    refusal(path, header) {
      if (open) return undefined;
      const key = presentedKey(header);
      if (key === undefined) return new ConnectError(MISSING, Code.Unauthenticated);
      const role = roleOf(keys, key);
      if (role === undefined) return new ConnectError("API key not recognised", Code.Unauthenticated);
      if (role === "read-only" && !isReadOnlyCall(path)) {
        return new ConnectError(`${path.slice(1)} needs a read-write API key; this key is read-only`, Code.PermissionDenied);
      }
      return undefined;
    },
    reload() {
      // An open port stays open and a protected one protected: going from keys to none
      // (or back) by SIGHUP is too easy to do by accident; it takes a restart.
      const next = load(src);
      if (!open && next.readWrite.length + next.readOnly.length === 0) throw new ConfigError("reloaded key files hold no keys");
      if (open) return;
      keys = next;
    },
  };
}

/** /metrics: any of these keys, read from the same headers. */
export function metricsKeyCheck(keys: string[]): (header: Headers) => boolean {
  if (keys.length === 0) return () => true;
  const digests = keys.map(digest);
  return (header) => {
    const key = presentedKey(header);
    return key !== undefined && matchesAny(digest(key), digests);
  };
}
