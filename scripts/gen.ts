// Regenerates src/gen from proto/ with the buf CLI and protoc-gen-es from node_modules:
// offline, pinned by package-lock.json, so the output is byte-for-byte reproducible.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const buf = resolve(root, "node_modules/.bin/buf");
const result = spawnSync(buf, ["generate"], { cwd: root, stdio: "inherit" });
if (result.status !== 0) {
  console.error(`buf generate failed (exit ${result.status ?? result.signal})`);
  process.exit(1);
}
