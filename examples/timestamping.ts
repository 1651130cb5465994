// Timestamps every insert with the server's clock, and gives vectors a lifetime of
// their own: with --ttl, a vector expires once its timestamp is older than the TTL, so
// an insert whose filter target carries '{"expireInSeconds": 30}' gets a timestamp set
// back so that it expires 30 s from now instead of after the whole TTL.
import { defineConfig } from "alvd";

const TTL_SECONDS = 24 * 60 * 60;

function lifetime(host: string | undefined): number | undefined {
  if (host === undefined) return undefined;
  try {
    const s = (JSON.parse(host) as { expireInSeconds?: unknown }).expireInSeconds;
    return typeof s === "number" && s >= 0 && s < TTL_SECONDS ? s : undefined;
  } catch {
    return undefined;
  }
}

export default defineConfig({
  server: {
    ttl: `${TTL_SECONDS}s`,
    checkIndexInterval: "5s",
    insertDataInterceptor(request) {
      const nowNs = BigInt(Date.now()) * 1_000_000n;
      const seconds = lifetime(request.config.filters?.targets[0]?.host);
      const early = seconds === undefined ? 0n : BigInt(TTL_SECONDS - seconds) * 1_000_000_000n;
      request.config.timestamp = nowNs - early;
    },
  },
});
