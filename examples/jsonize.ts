// Rewrites every result id into JSON carrying the id and when the search was answered.
import { defineConfig } from "alvd";

export default defineConfig({
  server: {
    searchResultInterceptor(_config, results) {
      const time = new Date().toISOString();
      for (const r of results) r.id = JSON.stringify({ id: r.id, time });
    },
  },
});
