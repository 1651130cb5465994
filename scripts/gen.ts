// Regenerates src/gen from proto/ with the buf CLI and protoc-gen-es from node_modules:
// offline and pinned by package-lock.json, so the output is reproducible. Then
// alvd.d.ts, the types of a config file (scripts/config-types.ts), from the result.
// `bun scripts/gen.ts [outDir]` writes elsewhere (the freshness test compares).
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { configTypes } from "./config-types";

const root = resolve(import.meta.dir, "..");
const out = resolve(process.argv[2] ?? resolve(root, "src/gen"));
const template = {
  version: "v2",
  plugins: [{ local: resolve(root, "node_modules/.bin/protoc-gen-es"), out, opt: ["target=ts"] }],
  clean: true,
};
const result = spawnSync(resolve(root, "node_modules/.bin/buf"), ["generate", "--template", JSON.stringify(template)], {
  cwd: root,
  stdio: "inherit",
});
if (result.status !== 0) {
  console.error(`buf generate failed (exit ${result.status ?? result.signal})`);
  process.exit(1);
}
// alvd.d.ts for editors and tsc; deflated for the binary to embed (`alvd types`), where text costs its full size
const types = configTypes();
writeFileSync(resolve(out, "alvd.d.ts"), types);
writeFileSync(resolve(out, "alvd.d.ts.deflate"), Bun.deflateSync(new TextEncoder().encode(types), { level: 9 }));
