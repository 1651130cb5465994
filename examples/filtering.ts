// Post-filtering on request: a search whose config names the egress filter target
// "distance-filtering" gets only the results nearer than MAX_DISTANCE.
import { defineConfig } from "alvd";

const MAX_DISTANCE = 10.9;

export default defineConfig({
  server: {
    searchResultInterceptor(config, results) {
      if (config.egressFilters?.targets[0]?.host !== "distance-filtering") return;
      return results.filter((r) => r.distance < MAX_DISTANCE);
    },
  },
});
