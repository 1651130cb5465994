// The version in the page's links to its files (?v=…): a hash of the gzipped file, so a
// new build changes the link and browsers may cache each version for good.
export const assetVersion = (gz: Uint8Array): string => Bun.hash(gz).toString(36);
