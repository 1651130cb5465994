// The official client's own e2e suite (vald-client-node 1.7.4, tests/e2e.test.ts),
// unmodified, against the gateway in front of three agents (the suite hard-codes
// localhost:8081 and 300 dimensions). replicas=1: the suite checks IndexInfo.stored
// against the number of vectors, and the gateway (like Vald's) sums stored over
// agents, so with replicas=2 every vector would count twice.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gatewayRoutes } from "../../src/gateway/routes";
import { listenRpc, type RpcListener } from "../../src/rpc/listen";
import { log, randomVector, rng, startCluster, type TestCluster } from "./cluster";

const PORT = 8081;
const ROOT = join(import.meta.dir, "../..");
const PKG = join(ROOT, "node_modules/vald-client-node");

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = createServer();
    s.once("error", () => done(false));
    s.listen(port, "0.0.0.0", () => s.close(() => done(true)));
  });
}

let cluster: TestCluster | undefined;
let gateway: RpcListener | undefined;
let dir = "";

beforeAll(async () => {
  if (!(await portFree(PORT))) throw new Error(`port ${PORT} is busy: the vald-client-node e2e suite hard-codes localhost:${PORT}; free it and rerun`);
  cluster = await startCluster(3, { replicas: 1, dimension: 300 });
  gateway = await listenRpc({ host: "0.0.0.0", port: PORT, log, routes: gatewayRoutes(cluster.pool, { replicas: 1, log }) });
  dir = await mkdtemp(join(tmpdir(), "alvd-gateway-vald-e2e-"));
  // Outside the repo so a root `bun test` never picks the copied suite up.
  await symlink(join(ROOT, "node_modules"), join(dir, "node_modules"));
  await symlink(join(PKG, "src"), join(dir, "src"));
  await mkdir(join(dir, "tests"));
  await copyFile(join(PKG, "tests/e2e.test.ts"), join(dir, "tests/e2e.test.ts"));
  await copyFile(join(PKG, "tests/wordvecs1000.d.ts"), join(dir, "tests/wordvecs1000.d.ts"));
  const r = rng(42);
  const data = Array.from({ length: 1000 }, (_, i) => ({ id: `word-${i}`, vector: randomVector(r, 300) }));
  await writeFile(join(dir, "tests/wordvecs1000.json"), JSON.stringify(data));
});

afterAll(async () => {
  await gateway?.close(50);
  await cluster?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test(
  "vald-client-node 1.7.4 tests/e2e.test.ts passes in full through the gateway",
  async () => {
    const run = Bun.spawn([process.execPath, "test", "./tests/e2e.test.ts"], { cwd: dir, stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
    const bounded = setTimeout(() => run.kill("SIGKILL"), 100_000);
    const [stdout, stderr, code] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text(), run.exited]);
    clearTimeout(bounded);
    const report = stdout + stderr;
    if (code !== 0) console.error(report);
    expect(report).toMatch(/\b24 pass\b/);
    expect(report).toMatch(/\b0 fail\b/);
    expect(code).toBe(0);
  },
  120_000,
);
