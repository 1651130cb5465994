// Prints what passes through the server: each search's size, its results, each insert's id.
// Run: alvd server --config examples/dump.ts   (types for editors: see "Config file" in README.md)
import { defineConfig } from "alvd";

export default defineConfig({
  server: {
    searchQueryInterceptor(request) {
      console.log(`search for the ${request.config.num} nearest neighbours`);
    },
    searchResultInterceptor(_config, results) {
      for (const r of results) console.log(`result ${r.id} at distance ${r.distance.toFixed(7)}`);
    },
    insertDataInterceptor(request) {
      console.log(`insert ${request.vector.id}`);
    },
  },
});
