// Drops results whose id is shorter than 3 characters, and asks for a wider search
// (twice as many results, up to 3 more times) while fewer than num are left.
import { defineConfig } from "alvd";

export default defineConfig({
  server: {
    searchResultInterceptor(_config, results, retry) {
      retry.enabled = true;
      retry.maxRetries = 3;
      retry.nextNumMultiplier = 2;
      return results.filter((r) => r.id.length >= 3);
    },
  },
});
