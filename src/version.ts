// Build information. build.ts replaces these identifiers through `define`; running
// from source falls back to the package version and "dev".
declare const ALVD_VERSION: string | undefined;
declare const ALVD_COMMIT: string | undefined;
declare const ALVD_BUILD_TARGET: string | undefined;

import pkg from "../package.json" with { type: "json" };

export const version: string = typeof ALVD_VERSION === "string" ? ALVD_VERSION : pkg.version;
export const commit: string = typeof ALVD_COMMIT === "string" ? ALVD_COMMIT : "dev";
export const buildTarget: string = typeof ALVD_BUILD_TARGET === "string" ? ALVD_BUILD_TARGET : "source";
