// The official client's own e2e suite (vald-client-node 1.7.4, tests/e2e.test.ts),
// unmodified, against `alvd agent --dimension 300` on localhost:8081 (the suite
// hard-codes that address). The package does not ship the wordvecs1000.json it
// imports, so a deterministic one (1000 ids × 300 floats) is generated; the suite
// imports the client from "../src/...", so the temp dir mirrors the package layout.
import { afterAll, beforeAll, expect, test, setDefaultTimeout } from "bun:test";
import { copyFile, mkdir, symlink, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { ROOT, spawnAgent, tempDir, vectors, type AgentProcess } from "./harness";

// Real processes on a shared 2-core box: start-up alone can take seconds under load.
setDefaultTimeout(30_000);

const PORT = 8081;
const PKG = join(ROOT, "node_modules/vald-client-node");

async function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = createServer();
    s.once("error", () => done(false));
    s.listen(port, "0.0.0.0", () => s.close(() => done(true)));
  });
}

let agent: AgentProcess | undefined;
let dir: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  if (!(await portFree(PORT))) {
    throw new Error(`port ${PORT} is busy: the vald-client-node e2e suite hard-codes localhost:${PORT}; free it and rerun`);
  }
  dir = await tempDir("alvd-vald-e2e-");
  // Outside the repo so a root `bun test` never picks the copied suite up; the links
  // make "../src/..." and "@grpc/grpc-js" resolve to the installed packages.
  await symlink(join(ROOT, "node_modules"), join(dir.path, "node_modules"));
  await symlink(join(PKG, "src"), join(dir.path, "src"));
  await mkdir(join(dir.path, "tests"));
  await copyFile(join(PKG, "tests/e2e.test.ts"), join(dir.path, "tests/e2e.test.ts"));
  await copyFile(join(PKG, "tests/wordvecs1000.d.ts"), join(dir.path, "tests/wordvecs1000.d.ts"));
  const data = vectors(1000, 300, 42).map((vector, i) => ({ id: `word-${i}`, vector }));
  await writeFile(join(dir.path, "tests/wordvecs1000.json"), JSON.stringify(data));
  agent = await spawnAgent({ dimension: 300, grpcPort: PORT, args: ["--grpc-host", "0.0.0.0"] });
});

afterAll(async () => {
  await agent?.stop();
  await dir?.remove();
});

test(
  "vald-client-node 1.7.4 tests/e2e.test.ts passes in full",
  async () => {
    const run = Bun.spawn([process.execPath, "test", "./tests/e2e.test.ts"], {
      cwd: dir.path,
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, NO_COLOR: "1" },
    });
    const bounded = setTimeout(() => run.kill("SIGKILL"), 100_000);
    const [stdout, stderr, code] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text(), run.exited]);
    clearTimeout(bounded);
    const report = stdout + stderr;
    if (code !== 0) console.error(report, "\nagent output:\n", agent?.output());
    expect(report).toMatch(/\b24 pass\b/);
    expect(report).toMatch(/\b0 fail\b/);
    expect(code).toBe(0);
  },
  120_000,
);
