// `import { defineConfig, ConnectError, Code } from "alvd"` in a user's config file.
// The compiled binary has no node_modules, so the module is a virtual one, registered
// with Bun's runtime plugin API before the file is imported. Its exports are the ones
// src/gen/alvd.d.ts declares; ConnectError is Connect's own, so a hook's error keeps
// its code on the way to the client.
import { plugin } from "bun";
import { Code, ConnectError } from "@connectrpc/connect";
import { Search_AggregationAlgorithm } from "../gen/payload/v1/payload_pb";

export const USER_MODULE_EXPORTS = {
  defineConfig: <T>(config: T): T => config,
  ConnectError,
  Code,
  Search_AggregationAlgorithm,
};

let registered = false;

/** Process-wide by nature (Bun's resolver); once is enough. */
export function registerUserModule(): void {
  if (registered) return;
  registered = true;
  plugin({
    name: "alvd-config-module",
    setup(build) {
      for (const name of ["alvd", "alvd/config"]) build.module(name, () => ({ exports: USER_MODULE_EXPORTS, loader: "object" }));
    },
  });
}
