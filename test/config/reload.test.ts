// SIGHUP reloads the config file's hooks in a running server, with what the file
// imports; a file that no longer loads leaves the hooks as they were and says why.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { client, eventually, startServer, type Server } from "../examples/harness";

const dir = mkdtempSync(join(tmpdir(), "alvd-reload-"));
let server: Server | undefined;
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const prefixing = (extra = "") => `import { defineConfig } from "alvd";
import { TAG } from "./tag";
export default defineConfig({
  server: {${extra}
    searchResultInterceptor(_config, results) {
      for (const r of results) r.id = TAG + r.id;
    },
  },
});
`;

test("SIGHUP swaps the hooks; a broken file keeps the old ones", async () => {
  const config = join(dir, "alvd.config.ts");
  writeFileSync(join(dir, "tag.ts"), 'export const TAG = "one:";\n');
  writeFileSync(config, prefixing());
  server = await startServer(config, ["--dimension=4"]);
  const c = client(server.grpcPort);
  const first = async () => (await c.search([1, 0, 0, 0], 1))[0]!.id;
  try {
    await c.insert("a", [1, 0, 0, 0]);
    expect(await first()).toBe("one:a");

    // an edit to a module the config imports counts
    writeFileSync(join(dir, "tag.ts"), 'export const TAG = "two:";\n');
    server.signal("SIGHUP");
    await eventually("the new hook", async () => (await first()) === "two:a");
    expect(server.output()).toContain("config file reloaded");

    writeFileSync(config, "export default { server: { searchResultInterceptor( } };\n");
    server.signal("SIGHUP");
    await eventually("the reload failure logged", async () => server!.output().includes("config file reload failed; the hooks loaded before stay in use"));
    expect(server.output()).toContain("failed to load");
    expect(await first()).toBe("two:a");

    // no hooks left: searches answer as the agents do; a changed setting waits for a restart
    writeFileSync(config, "export default { server: { replicas: 2 } };\n");
    server.signal("SIGHUP");
    await eventually("hooks gone", async () => (await first()) === "a");
    await eventually("the restart note", async () => server!.output().includes("settings changed in the config file apply at the next restart"));
  } finally {
    c.close();
  }
});
