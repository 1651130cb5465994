// The release binary's addon loader: unpack an embedded brotli-packed .node file next to
// where Bun would extract it (BUN_TMPDIR, else the temporary directory), load it, remove it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliDecompressSync } from "node:zlib";

export function loadPackedAddon(embedded: string, flavour: string): unknown {
  const dir = mkdtempSync(join(process.env.BUN_TMPDIR || tmpdir(), "alvd-addon-"));
  try {
    const file = join(dir, `alvd_index_${flavour}.node`);
    writeFileSync(file, brotliDecompressSync(readFileSync(embedded)), { mode: 0o700 });
    const module = { exports: {} as unknown };
    process.dlopen(module, file);
    return module.exports;
  } finally {
    // loaded code stays mapped; the file is not needed once dlopen returned
    rmSync(dir, { recursive: true, force: true });
  }
}
