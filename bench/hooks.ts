// `bun run bench hooks`: what a config file's hooks cost a unary Search, in one run.
// One `alvd server` (embedded agent, random data), its hooks swapped with SIGHUP between
// runs, so every figure comes from the same process and the same index:
//   none          — a config without hooks: searches take the unhooked path (one test)
//   search-hooks  — no-op searchQueryInterceptor + searchResultInterceptor
//   rewrite       — a searchResultInterceptor that rewrites every id (reverse-id.ts)
// `none` is measured twice a round (first and last; rounds alternate the order), so its
// spread shows the noise.
// Load: python3-grpcio (C-core, pre-encoded requests, its own process) at --concurrency;
// CPU is the server process's own (/proc), per query. Figures: medians over --runs.
// Flags: --quick, --queries N, --runs N, --concurrency 16, --base 10000, --dimension 128
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { Agent } from "../src/gen/core/v1/agent_pb";
import { Search_RequestSchema } from "../src/gen/payload/v1/payload_pb";
import { Insert } from "../src/gen/vald/v1/insert_pb";
import { benchArgs } from "./lib/args";
import { cLoad } from "./lib/cload";
import { GrpcClient } from "./lib/grpc";
import { freePort, startAlvd } from "./lib/process";
import { cpuSecondsOf, fmt, median, table } from "./lib/stats";

const HOOKS = {
  none: "",
  "search-hooks": "searchQueryInterceptor() {}, searchResultInterceptor() {},",
  rewrite: "searchResultInterceptor(_c, results) { for (const r of results) r.id = [...r.id].reverse().join(''); },",
};
type Hooks = keyof typeof HOOKS;
const ROUND: [string, Hooks][] = [["none", "none"], ["search-hooks", "search-hooks"], ["rewrite", "rewrite"], ["none (again)", "none"]];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

export async function benchHooks(argv: string[]): Promise<void> {
  const { quick, get } = benchArgs(argv);
  // many short runs: on a shared box, load changes between long ones more than hooks cost
  const queries = Number(get("queries") ?? (quick ? 1000 : 3000));
  const runs = Number(get("runs") ?? (quick ? 4 : 15));
  const concurrency = Number(get("concurrency") ?? 16);
  const base = Number(get("base") ?? 10000);
  const d = Number(get("dimension") ?? 128);
  const dir = mkdtempSync(join(tmpdir(), "alvd-bench-hooks-"));
  const config = join(dir, "alvd.config.ts");
  const use = (h: Hooks) => writeFileSync(config, `export default { server: { ${HOOKS[h]} } };\n`);
  const random = rng(7);
  const vec = () => Array.from({ length: d }, random);
  const requests = Array.from({ length: queries }, () => toBinary(Search_RequestSchema, create(Search_RequestSchema, { vector: vec(), config: { num: 10, timeout: 3_000_000_000n } })));
  use("none");
  const port = await freePort();
  const server = await startAlvd("server", [
    "--config", config,
    "--server-grpc-host", "127.0.0.1", "--server-grpc-port", String(port),
    "--server", `127.0.0.1:${await freePort()}`, "--grpc-host", "127.0.0.1", "--grpc-port", String(await freePort()),
    "--dimension", String(d), "--create-index-threshold", "0", "--check-index-interval", "0s", "--save-interval", "0s",
  ]);
  const reloads = () => server.output().split("config file reloaded").length - 1;
  try {
    const client = new GrpcClient(`127.0.0.1:${port}`);
    for (let i = 0; i < base; i += 1000) {
      await client.unary(Insert.method.multiInsert, { requests: Array.from({ length: Math.min(1000, base - i) }, (_, k) => ({ vector: { id: `v${i + k}`, vector: vec() } })) });
    }
    await client.unary(Agent.method.createIndex, { poolSize: 0 });
    client.client.close();
    const qps = new Map<string, number[]>(ROUND.map(([name]) => [name, []]));
    const cpu = new Map<string, number[]>(ROUND.map(([name]) => [name, []]));
    let current: Hooks = "none";
    // a warm-up round, then the measured ones
    for (let r = -1; r < runs; r++) {
      for (const [name, hooks] of r % 2 === 0 ? ROUND : [...ROUND].reverse()) {
        if (hooks !== current) {
          const before = reloads();
          use(hooks);
          server.proc.kill("SIGHUP");
          while (reloads() === before) await Bun.sleep(20);
          current = hooks;
        }
        const c0 = cpuSecondsOf(server.proc.pid);
        const run = await cLoad(`127.0.0.1:${port}`, "/vald.v1.Search/Search", requests, { concurrency });
        const us = ((cpuSecondsOf(server.proc.pid) - c0) * 1e6) / queries;
        if (r < 0) continue;
        qps.get(name)!.push(queries / (run.wallMs / 1000));
        cpu.get(name)!.push(us);
      }
    }
    const ref = { qps: median(qps.get("none")!), cpu: median(cpu.get("none")!) };
    const rows = ROUND.map(([name]) => {
      const q = median(qps.get(name)!);
      const c = median(cpu.get(name)!);
      return [name, fmt.int(q), fmt.f(q / ref.qps), fmt.int(c), fmt.f(c / ref.cpu), fmt.f(c - ref.cpu, 1)];
    });
    process.stdout.write(
      `hooks: unary Search through one server, ${base} × ${d} random vectors, k=10, ${queries} queries at concurrency ${concurrency}, median of ${runs} runs\n` +
        table(["hooks", "QPS", "× none", "server CPU µs/q", "× none", "+µs/q"], rows) +
        "\n",
    );
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
