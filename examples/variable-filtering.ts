// Post-filtering with a threshold chosen per request: the search's first egress filter
// target carries JSON in its host, e.g. Search.Config.egress_filters.targets[0].host =
// '{"threshold": 10.8}', and only results nearer than the threshold are answered.
// A host that is not such JSON is the client's mistake: INVALID_ARGUMENT.
import { Code, ConnectError, defineConfig } from "alvd";

function threshold(host: string): number {
  let parsed: unknown;
  try {
    parsed = JSON.parse(host);
  } catch {
    throw new ConnectError(`egress filter host is not JSON: ${host}`, Code.InvalidArgument);
  }
  const t = (parsed as { threshold?: unknown }).threshold;
  if (typeof t !== "number") throw new ConnectError(`egress filter host needs a numeric "threshold": ${host}`, Code.InvalidArgument);
  return t;
}

export default defineConfig({
  server: {
    searchResultInterceptor(config, results) {
      const host = config.egressFilters?.targets[0]?.host;
      if (host === undefined) return;
      const max = threshold(host);
      return results.filter((r) => r.distance < max);
    },
  },
});
