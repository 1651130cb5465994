// Serves vald.v1.Filter (InsertObject, SearchObject, …): objects are UTF-8 text, turned
// into vectors by hashing their character trigrams into DIMENSION buckets (a toy; put a
// call to your embedding model here). Start the server with the same --dimension.
import { defineConfig } from "alvd";

const DIMENSION = 64;

function embed(text: string): Float32Array {
  const v = new Float32Array(DIMENSION);
  const padded = `  ${text.toLowerCase()}  `;
  for (let i = 0; i + 3 <= padded.length; i++) {
    let h = 2166136261;
    for (let k = i; k < i + 3; k++) h = Math.imul(h ^ padded.charCodeAt(k), 16777619);
    v[(h >>> 0) % DIMENSION]! += 1;
  }
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

export default defineConfig({
  server: {
    dimension: DIMENSION,
    distanceType: "cosine",
    vectorizer: (object) => embed(new TextDecoder().decode(object)),
  },
});
