// `bun run bench gateway`: what do the server, the tunnel and the fan-out cost over the
// bare native index? Same data, same settings, same run, three deployments:
//   embedded  — `alvd server` alone (its embedded agent is called in-process)
//   1 agent   — `alvd server --agent=false` + one `alvd agent` dialing in (websocket tunnel)
//   2 agents  — the same with two agents, each holding half (replicas 1; search fans out, merges)
// Clients are grpc-js on the gateway port: MultiInsert batches, CreateIndex through the
// gateway's core.v1.Agent, unary Search at the given concurrency. The reference is our
// addon in this process (search on one thread; searchAsync on worker threads when c > 1),
// alternated run by run with the deployment so both see the same background load.
// Flags: --quick (200 queries, 1 run, ef 32,64), --queries N, --runs N, --efs 32,64,128,
// --concurrency 16, --base 60000, --only embedded,1-agent,2-agents
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Search_RequestSchema, type Search_Request } from "../src/gen/payload/v1/payload_pb";
import { Index } from "../src/gen/vald/v1/index_pb";
import { Search } from "../src/gen/vald/v1/search_pb";
import { openIndex } from "../src/index/addon";
import { loadFashionMnist, row } from "./lib/dataset";
import { CACHE_DIR, groundTruth } from "./lib/groundtruth";
import { GrpcClient } from "./lib/grpc";
import { ingest } from "./lib/ingest";
import { freePort, startAlvd, type AlvdProcess } from "./lib/process";
import { rawSearcher, runQueries, summariseRuns, type OneRun, type SearchSummary, type Searcher } from "./lib/search-runs";
import { fmt, table } from "./lib/stats";
import { benchArgs } from "./lib/args";

const K = 10;
const M = 16;
const EF_CONSTRUCTION = 128; // what agents derive: max(128, 4·M)
const BATCH = 1000;
const SCENARIOS = ["embedded", "1-agent", "2-agents"] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Options {
  queries: number;
  runs: number;
  efs: number[];
  base: number;
  concurrency: number[];
  only: Scenario[];
}

function parseArgs(argv: string[]): Options {
  const { quick, get, numbers } = benchArgs(argv);
  const only = (get("only")?.split(",") ?? [...SCENARIOS]) as Scenario[];
  for (const s of only) if (!SCENARIOS.includes(s)) throw new Error(`--only: unknown scenario ${s} (${SCENARIOS.join(", ")})`);
  return {
    queries: Number(get("queries") ?? (quick ? 200 : 1000)),
    runs: Number(get("runs") ?? (quick ? 1 : 3)),
    efs: numbers("efs", quick ? [32, 64] : [32, 64, 128]),
    base: Number(get("base") ?? 60_000),
    concurrency: numbers("concurrency", [16]),
    only,
  };
}

function indexArgs(d: number): string[] {
  return [
    "--dimension", String(d),
    "--distance-type", "l2",
    "--creation-edge-size", String(M),
    // builds are driven by this benchmark, not by timers
    "--create-index-threshold", "0",
    "--check-index-interval", "0s",
    "--save-interval", "0s",
    "--log-level", "warn",
  ];
}

/** start the deployment; resolves with the gateway address and a stop function */
/** CPU seconds used so far by an alvd process (all its threads), from its /metrics */
async function cpuSeconds(p: AlvdProcess): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${p.metricsPort}/metrics`)).text();
  const m = /^alvd_process_cpu_seconds_total(?:\{[^}]*\})? (\S+)$/m.exec(text);
  if (!m) throw new Error("alvd_process_cpu_seconds_total missing from /metrics");
  return Number(m[1]);
}

async function deploy(scenario: Scenario, d: number, log: (m: string) => void): Promise<{ addr: string; cpuSeconds(): Promise<number>; stop(): Promise<void> }> {
  const [gw, ws, agentPort] = [await freePort(), await freePort(), await freePort()];
  const server = await startAlvd("server", [
    "--server-grpc-host", "127.0.0.1",
    "--server-grpc-port", String(gw),
    "--server", `127.0.0.1:${ws}`,
    "--grpc-host", "127.0.0.1",
    "--grpc-port", String(agentPort),
    "--replicas", "1",
    "--agent", String(scenario === "embedded"),
    "--name", "embedded",
    ...indexArgs(d),
  ]);
  const agents: AlvdProcess[] = [];
  const want = scenario === "embedded" ? 1 : scenario === "1-agent" ? 1 : 2;
  for (let i = 0; i < (scenario === "embedded" ? 0 : want); i++) {
    agents.push(
      await startAlvd("agent", [
        "--server", `127.0.0.1:${ws}`,
        "--name", `bench-${i + 1}`,
        "--grpc-host", "127.0.0.1",
        "--grpc-port", String(await freePort()),
        ...indexArgs(d),
      ]),
    );
  }
  const client = new GrpcClient(`127.0.0.1:${gw}`);
  try {
    await client.waitReady();
    const end = Date.now() + 30_000;
    for (;;) {
      const detail = await client.unary(Index.method.indexDetail, {});
      if (Object.keys(detail.counts).length === want) break;
      if (Date.now() > end) throw new Error(`${scenario}: the server sees ${Object.keys(detail.counts).length} agents, wanted ${want}`);
      await Bun.sleep(100);
    }
  } finally {
    client.close();
  }
  log(`${scenario}: server ready with ${want} agent(s)`);
  return {
    addr: `127.0.0.1:${gw}`,
    cpuSeconds: async () => (await Promise.all([server, ...agents].map(cpuSeconds))).reduce((a, b) => a + b, 0),
    async stop() {
      await Promise.all(agents.map((a) => a.stop()));
      await server.stop();
    },
  };
}

interface ScenarioResult {
  insertS: number;
  indexS: number;
  runs: Map<string, SearchSummary>;
  raw: Map<string, SearchSummary>;
  /** CPU µs per query: the deployment's processes (server + agents), and raw in this process */
  cpu: Map<string, { deployment: number; raw: number }>;
}

export async function benchGateway(argv: string[]): Promise<void> {
  const o = parseArgs(argv);
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const threads = availableParallelism();
  log("loading fashion-mnist …");
  const ds = loadFashionMnist();
  const n = Math.min(o.base, ds.trainCount);
  const d = ds.dimension;
  const gt = groundTruth(ds, { baseCount: n, queries: Math.max(o.queries, 1000), k: K, log });
  const queryVecs = Array.from({ length: o.queries }, (_, q) => row(ds.test, d, q).slice());

  log(`raw: building ${n} × ${d} on ${threads} threads …`);
  const raw = openIndex({ dimensions: d, metric: "l2sq", quantization: "f32", connectivity: M, expansionAdd: EF_CONSTRUCTION, expansionSearch: 64 }, "auto");
  let t = performance.now();
  await raw.addAsync(Float64Array.from({ length: n }, (_, i) => i), ds.train.subarray(0, n * d), threads);
  const rawBuildS = (performance.now() - t) / 1000;
  log(`raw: built in ${fmt.s(rawBuildS)} (isa ${raw.isa})`);

  const results = new Map<Scenario, ScenarioResult>();
  try {
    for (const scenario of o.only) {
      const dep = await deploy(scenario, d, log);
      const client = new GrpcClient(dep.addr);
      try {
        await client.waitReady();
        const { insertS, indexS } = await ingest(client, ds, n, BATCH);
        log(`${scenario}: insert ${fmt.s(insertS)} + CreateIndex ${fmt.s(indexS)}`);
        const res: ScenarioResult = { insertS, indexS, runs: new Map(), raw: new Map(), cpu: new Map() };
        for (const ef of o.efs) {
          const reqs: Search_Request[] = queryVecs.map((v) =>
            create(Search_RequestSchema, { vector: Array.from(v), config: { num: K, radius: -1, edgeSize: ef, timeout: 10_000_000_000n } }),
          );
          const viaGateway: Searcher = async (q) => (await client.unary(Search.method.search, reqs[q]!)).results.map((r) => Number(r.id));
          for (const c of o.concurrency) {
            await runQueries(c, Math.min(100, o.queries), viaGateway); // warm-up
            const rawAll: OneRun[] = [];
            const gwAll: OneRun[] = [];
            let rawCpu = 0;
            let depCpu = 0;
            for (let r = 0; r < o.runs; r++) {
              const u0 = process.cpuUsage();
              rawAll.push(await runQueries(c, o.queries, rawSearcher(raw, queryVecs, K, ef, c)));
              const u = process.cpuUsage(u0);
              rawCpu += u.user + u.system;
              const d0 = await dep.cpuSeconds();
              gwAll.push(await runQueries(c, o.queries, viaGateway));
              depCpu += (await dep.cpuSeconds() - d0) * 1e6;
            }
            res.cpu.set(`${ef}/${c}`, { raw: rawCpu / (o.runs * o.queries), deployment: depCpu / (o.runs * o.queries) });
            res.raw.set(`${ef}/${c}`, summariseRuns(rawAll, gt, K));
            res.runs.set(`${ef}/${c}`, summariseRuns(gwAll, gt, K));
            log(`${scenario} ef=${ef} c=${c}: raw ${fmt.int(res.raw.get(`${ef}/${c}`)!.qps)} QPS, gateway ${fmt.int(res.runs.get(`${ef}/${c}`)!.qps)} QPS`);
          }
        }
        results.set(scenario, res);
      } finally {
        client.close();
        await dep.stop();
      }
    }
  } finally {
    raw.clear();
  }

  const rows: (string | number)[][] = [];
  for (const [scenario, r] of results) {
    for (const ef of o.efs) {
      for (const c of o.concurrency) {
        const rr = r.raw.get(`${ef}/${c}`)!;
        const g = r.runs.get(`${ef}/${c}`)!;
        const cpu = r.cpu.get(`${ef}/${c}`)!;
        rows.push([scenario, ef, c, fmt.f(rr.recall, 4), fmt.int(rr.qps), fmt.f(g.recall, 4), fmt.int(g.qps), fmt.ms(g.p50), fmt.ms(g.p99), fmt.ratio(g.qps, rr.qps),
          fmt.int(cpu.raw), fmt.int(cpu.deployment), fmt.ratio(cpu.deployment, cpu.raw)]);
      }
    }
  }
  const build = [...results].map(([s, r]) => [s, fmt.s(r.insertS), fmt.s(r.indexS), fmt.s(rawBuildS), fmt.ratio(r.insertS + r.indexS, rawBuildS)]);
  const report = [
    `## gateway vs raw index — ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
    "",
    `fashion-mnist ${n} × ${d}, ${o.queries} queries, k=${K}, M=${M}, efC=${EF_CONSTRUCTION}, f32, l2, replicas 1; ${threads} cores;` +
      ` grpc-js unary Search on the gateway port; raw = our addon in the bench process at the same concurrency` +
      ` (searchAsync on worker threads); QPS = median of ${o.runs} run(s); CPU/query = CPU time of the deployment's` +
      ` processes (server + agents, all threads, from their /metrics) or of the raw searches, over all runs — the client's CPU is in neither`,
    "",
    table(["deployment", "ef", "conc.", "raw recall@10", "raw QPS", "gateway recall@10", "gateway QPS", "p50", "p99", "gateway/raw", "raw CPU µs/q", "alvd CPU µs/q", "CPU alvd/raw"], rows),
    "",
    table(["deployment", "insert (MultiInsert ×1000)", "CreateIndex", "raw addAsync", "(insert+index)/raw"], build),
    "",
  ].join("\n");
  process.stdout.write(`\n${report}\n`);
  mkdirSync(CACHE_DIR, { recursive: true });
  writeFileSync(join(CACHE_DIR, "gateway-last.md"), report);
}
