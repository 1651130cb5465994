// `bun run bench backup`: alvd backup/restore against export/import of the same data,
// in the same run (Qdrant's snapshots against its scroll-and-upsert path, the same idea):
//  - backup:  `alvd backup` (SaveIndex + the snapshot files through the tunnel) vs
//             `alvd export` (every vector through StreamListObject);
//  - restore: `alvd restore` into the emptied cluster (files installed, graph loaded)
//             vs `alvd import` of the export, alone and with the CreateIndex that brings
//             the cluster back to the same indexed state.
// Fashion-MNIST rows (784-d) on a server whose embedded agent keeps --index-path. Each
// run imports (leaving unsaved changes, so the backup pays for its save), then backs up
// and exports in alternating order, then restores. Median of --runs; whole processes.
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent } from "../src/gen/core/v1/agent_pb";
import { Flush } from "../src/gen/vald/v1/flush_pb";
import { Index } from "../src/gen/vald/v1/index_pb";
import { benchArgs } from "./lib/args";
import { FASHION_MNIST_DIR } from "./lib/dataset";
import { freePort, ROOT, startAlvd } from "./lib/process";
import { fmt, median, table } from "./lib/stats";

const IMAGES = join(FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz");

async function alvd(args: string[]): Promise<number> {
  const cmd = process.env.ALVD_BENCH_CMD ? process.env.ALVD_BENCH_CMD.split(" ").filter(Boolean) : [process.execPath, join(ROOT, "src/main.ts")];
  const t0 = performance.now();
  const p = Bun.spawn([...cmd, ...args, "--progress", "none"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`alvd ${args.join(" ")} exited ${code}\n${out}${err}`);
  return (performance.now() - t0) / 1000;
}

export async function benchBackup(argv: string[]): Promise<void> {
  const a = benchArgs(argv);
  const n = Number(a.get("n") ?? (a.quick ? 5000 : 20000));
  const runs = Number(a.get("runs") ?? (a.quick ? 1 : 3));
  const dir = mkdtempSync(join(tmpdir(), "alvd-bench-backup-"));
  const [port, ws, agentPort] = [await freePort(), await freePort(), await freePort()];
  const server = await startAlvd("server", [
    "--server-grpc-host", "127.0.0.1", "--server-grpc-port", String(port), "--server", `127.0.0.1:${ws}`,
    "--grpc-host", "127.0.0.1", "--grpc-port", String(agentPort), "--dimension", "784", "--log-level", "warn",
    "--index-path", join(dir, "index"), "--save-interval", "0",
    // index builds only where the bench asks for them, never overlapping a timed phase
    "--create-index-threshold", "0", "--check-index-interval", "0",
  ]);
  const at = ["-h", "127.0.0.1", "-p", String(port)];
  const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` });
  const agent = createClient(Agent, transport);
  const index = createClient(Index, transport);
  const flush = () => createClient(Flush, transport).flush({});
  const held = async () => {
    const c = await index.indexInfo({});
    return c.stored + c.uncommitted;
  };
  const exported = join(dir, "bench.alvdexp");
  const backup = join(dir, "bench.alvdbak");
  try {
    await alvd(["load", IMAGES, ...at, "--limit", String(n)]);
    await alvd(["export", ...at, "--out", exported]);
    const t = { export: [] as number[], backup: [] as number[], import: [] as number[], build: [] as number[], restore: [] as number[] };
    for (let r = 0; r < runs; r++) {
      await flush();
      t.import.push(await alvd(["import", exported, ...at]));
      const b0 = performance.now();
      await agent.createIndex({ poolSize: 0 });
      t.build.push((performance.now() - b0) / 1000);
      const phases: [keyof typeof t, string[]][] = [
        ["backup", ["backup", ...at, "--out", backup]],
        ["export", ["export", ...at, "--out", exported]],
      ];
      for (const [k, args] of r % 2 === 0 ? phases : phases.reverse()) t[k].push(await alvd(args));
      await flush();
      t.restore.push(await alvd(["restore", backup, ...at]));
      const c = await index.indexInfo({});
      if (c.stored + c.uncommitted !== n || c.uncommitted !== 0) throw new Error(`restore left ${c.stored} indexed + ${c.uncommitted} uncommitted of ${n}`);
      process.stderr.write(
        `run ${r + 1}/${runs}: backup ${fmt.s(t.backup[r]!)}, export ${fmt.s(t.export[r]!)}, restore ${fmt.s(t.restore[r]!)}, import ${fmt.s(t.import[r]!)} + CreateIndex ${fmt.s(t.build[r]!)}\n`,
      );
    }
    if ((await held()) !== n) throw new Error("the cluster lost vectors");
    const m = (k: keyof typeof t) => median(t[k]);
    const importBuilt = median(t.import.map((x, i) => x + t.build[i]!));
    console.log(`\n## backup — ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, ${n.toLocaleString("en-US")} Fashion-MNIST rows (784-d), one agent, median of ${runs}\n`);
    console.log(`backup file ${(statSync(backup).size / 1e6).toFixed(1)} MB, export file ${(statSync(exported).size / 1e6).toFixed(1)} MB\n`);
    console.log(
      table(
        ["work", "alvd backup/restore", "export/import in the same run", "speed-up"],
        [
          ["back up (SaveIndex + files / StreamListObject)", fmt.s(m("backup")), `export ${fmt.s(m("export"))}`, fmt.ratio(m("export"), m("backup"))],
          ["restore, searchable (files / StreamInsert)", fmt.s(m("restore")), `import ${fmt.s(m("import"))}`, fmt.ratio(m("import"), m("restore"))],
          ["restore, indexed as before", fmt.s(m("restore")), `import + CreateIndex ${fmt.s(importBuilt)}`, fmt.ratio(importBuilt, m("restore"))],
        ],
      ),
    );
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
