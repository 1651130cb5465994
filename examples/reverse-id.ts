// Answers every search with the result ids spelled backwards.
import { defineConfig } from "alvd";

export default defineConfig({
  server: {
    searchResultInterceptor(_config, results) {
      for (const r of results) r.id = [...r.id].reverse().join("");
    },
  },
});
