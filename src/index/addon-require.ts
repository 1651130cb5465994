// How the addon's .node files are loaded. From source: require() by literal path. The
// release build swaps this module for one that embeds them brotli-packed (build.ts,
// packedAddons): they are 67 % smaller that way, and unpacking costs ~3 ms at start.
import type { Flavour } from "./addon";

export function requireAddon(flavour: Flavour): unknown {
  // literal paths on purpose: the bundler only embeds what it can see
  return flavour === "simd" ? require("../../native/build/simd/alvd_index.node") : require("../../native/build/plain/alvd_index.node");
}
