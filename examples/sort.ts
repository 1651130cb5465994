// Orders every answer farthest first (the agents' order is nearest first).
import { defineConfig } from "alvd";

export default defineConfig({
  server: {
    searchResultInterceptor(_config, results) {
      results.sort((a, b) => b.distance - a.distance);
    },
  },
});
