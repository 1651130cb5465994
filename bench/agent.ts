// `bun run bench agent`: what does the agent (process + gRPC + engine) cost over the
// bare native index? Same data, same settings, same run:
//   (a) raw: our addon in this process (openIndex → addAsync, search/searchAsync)
//   (b) agent: `alvd agent` as a child process, called with grpc-js
//       (MultiInsert batches + CreateIndex; unary Search at concurrency 1 and 16)
// Fashion-MNIST 60k × 784, M=16 (--creation-edge-size), efC=128, f32, l2; ef per query
// via Search.Config.edge_size (the epsilon mapping gives the same ef: see
// src/agent/handlers/validate.ts). QPS is the median of --runs runs.
// Flags: --quick (200 queries, 1 run, ef 32/64), --queries N, --runs N, --efs 32,64,128,
// --concurrency 1,16, --batch 1000, --base 60000, --in-memory (agent without --index-path),
// --auto-index N (agent builds while vectors arrive, every N uncommitted; default 0).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Agent } from "../src/gen/core/v1/agent_pb";
import { Search_RequestSchema, type Search_Request } from "../src/gen/payload/v1/payload_pb";
import { Index } from "../src/gen/vald/v1/index_pb";
import { Search } from "../src/gen/vald/v1/search_pb";
import { openIndex } from "../src/index/addon";
import type { AnnIndex, IndexOptions } from "../src/index/types";
import { loadFashionMnist, row } from "./lib/dataset";
import { CACHE_DIR, groundTruth } from "./lib/groundtruth";
import { GrpcClient } from "./lib/grpc";
import { ingest } from "./lib/ingest";
import { freePort, startAlvd } from "./lib/process";
import { rawSearcher, runQueries, summariseRuns, type OneRun, type SearchSummary, type Searcher } from "./lib/search-runs";
import { fmt, rssOf, table } from "./lib/stats";
import { benchArgs } from "./lib/args";

const K = 10;
const M = 16;
const EF_CONSTRUCTION = 128; // what the agent derives: max(128, 4·M)
const DEFAULT_EF = 64;

interface Options {
  queries: number;
  runs: number;
  efs: number[];
  base: number;
  batch: number;
  concurrency: number[];
  /** run the agent with --index-path (WAL, save, restart) */
  persist: boolean;
  /** agent --create-index-threshold during ingestion (0 = build only at the final CreateIndex) */
  autoIndex: number;
}

function parseArgs(argv: string[]): Options {
  const { quick, get, numbers, has } = benchArgs(argv);
  return {
    queries: Number(get("queries") ?? (quick ? 200 : 1000)),
    runs: Number(get("runs") ?? (quick ? 1 : 3)),
    efs: numbers("efs", quick ? [32, 64] : [32, 64, 128]),
    base: Number(get("base") ?? 60_000),
    batch: Number(get("batch") ?? 1000),
    concurrency: numbers("concurrency", [1, 16]),
    persist: !has("in-memory"),
    autoIndex: Number(get("auto-index") ?? 0),
  };
}

/** the query set through one StreamSearch with `window` requests in flight */
async function runStream(client: GrpcClient, reqs: Search_Request[], window: number): Promise<OneRun> {
  const found = new Array<ArrayLike<number>>(reqs.length);
  const { latencies, wallMs } = await client.pipeline(Search.method.streamSearch, reqs, window, (res, i) => {
    if (res.payload.case !== "response") throw new Error(`stream search ${i}: ${res.payload.value?.message}`);
    found[i] = res.payload.value.results.map((r) => Number(r.id));
  });
  return { qps: (reqs.length / wallMs) * 1000, latencies, found };
}

export async function benchAgent(argv: string[]): Promise<void> {
  const o = parseArgs(argv);
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const threads = availableParallelism();
  log(`loading fashion-mnist …`);
  const ds = loadFashionMnist();
  const n = Math.min(o.base, ds.trainCount);
  const d = ds.dimension;
  // one cache file for quick and full runs: the first o.queries rows are used
  const gt = groundTruth(ds, { baseCount: n, queries: Math.max(o.queries, 1000), k: K, log });
  const queryVecs = Array.from({ length: o.queries }, (_, q) => row(ds.test, d, q).slice());
  const indexOptions: IndexOptions = { dimensions: d, metric: "l2sq", quantization: "f32", connectivity: M, expansionAdd: EF_CONSTRUCTION, expansionSearch: DEFAULT_EF };

  // ---- (a) raw index in this process ----
  log(`raw: building ${n} × ${d} on ${threads} threads …`);
  Bun.gc(true);
  const rawRss0 = process.memoryUsage.rss();
  const raw: AnnIndex = openIndex(indexOptions, "auto");
  const keys = Float64Array.from({ length: n }, (_, i) => i);
  let t = performance.now();
  await raw.addAsync(keys, ds.train.subarray(0, n * d), threads);
  const rawBuildS = (performance.now() - t) / 1000;
  Bun.gc(true);
  const rawRssDelta = process.memoryUsage.rss() - rawRss0;
  const rawIndexBytes = raw.memoryUsage();
  log(`raw: built in ${fmt.s(rawBuildS)} (isa ${raw.isa})`);

  // ---- (b) the agent process over gRPC ----
  const grpcPort = await freePort();
  // With --index-path, as deployed: inserts go through the write-ahead log, and a
  // restart shows the steady-state memory of an agent holding the data (no ingest garbage).
  const indexDir = o.persist ? mkdtempSync(join(tmpdir(), "alvd-bench-agent-")) : undefined;
  const agentArgs = [
    "--name", "bench-agent",
    "--server", "",
    "--grpc-host", "127.0.0.1",
    "--grpc-port", String(grpcPort),
    "--dimension", String(d),
    "--distance-type", "l2",
    "--object-type", "float",
    "--creation-edge-size", String(M),
    "--search-edge-size", String(DEFAULT_EF),
    // --auto-index N: the agent builds in the background while vectors arrive (as
    // deployed); 0: one explicit CreateIndex after the last insert
    "--create-index-threshold", String(o.autoIndex),
    "--check-index-interval", o.autoIndex > 0 ? "1s" : "0s",
    "--save-interval", "0s",
    "--log-level", "warn",
    ...(indexDir ? ["--index-path", indexDir] : []),
  ];
  const agent = await startAlvd("agent", agentArgs).catch((e: unknown) => {
    if (indexDir) rmSync(indexDir, { recursive: true, force: true });
    throw e;
  });
  const pid = agent.proc.pid;
  const rawRuns = new Map<string, SearchSummary>();
  const runs = new Map<string, SearchSummary>();
  const streamRuns = new Map<string, SearchSummary>();
  const client = new GrpcClient(`127.0.0.1:${grpcPort}`);
  let agentResult: { insertS: number; indexS: number; rssDelta: number; indexBytes: number; runs: Map<string, SearchSummary> };
  let agentRss0 = 0;
  let restart: { saveS: number; loadS: number; rssDelta: number } | undefined;
  try {
    await client.waitReady();
    agentRss0 = rssOf(pid);
    log(`agent: inserting ${n} in MultiInsert batches of ${o.batch} …`);
    const { insertS, indexS } = await ingest(client, ds, n, o.batch);
    const stats = await client.unary(Index.method.indexStatistics, {});
    const rssDelta = rssOf(pid) - agentRss0;
    log(`agent: insert ${fmt.s(insertS)} + CreateIndex ${fmt.s(indexS)}`);

    // Raw and agent runs alternate, so both see the same background load on a shared box.
    for (const ef of o.efs) {
      const reqs: Search_Request[] = queryVecs.map((v) =>
        create(Search_RequestSchema, { vector: Array.from(v), config: { num: K, radius: -1, edgeSize: ef } }),
      );
      const viaAgent: Searcher = async (q) => (await client.unary(Search.method.search, reqs[q]!)).results.map((r) => Number(r.id));
      for (const c of o.concurrency) {
        const viaRaw = rawSearcher(raw, queryVecs, K, ef, c);
        await runQueries(c, Math.min(100, o.queries), viaAgent); // warm-up (JIT, connection)
        const rawAll: OneRun[] = [];
        const agentAll: OneRun[] = [];
        const streamAll: OneRun[] = [];
        for (let r = 0; r < o.runs; r++) {
          rawAll.push(await runQueries(c, o.queries, viaRaw));
          agentAll.push(await runQueries(c, o.queries, viaAgent));
          // c > 1 also through one StreamSearch with c in flight (Vald's bulk path)
          if (c > 1) streamAll.push(await runStream(client, reqs.slice(0, o.queries), c));
        }
        rawRuns.set(`${ef}/${c}`, summariseRuns(rawAll, gt, K));
        runs.set(`${ef}/${c}`, summariseRuns(agentAll, gt, K));
        if (c > 1) streamRuns.set(`${ef}/${c}`, summariseRuns(streamAll, gt, K));
        log(
          `ef=${ef} c=${c}: raw ${fmt.int(rawRuns.get(`${ef}/${c}`)!.qps)} QPS, agent ${fmt.int(runs.get(`${ef}/${c}`)!.qps)} QPS` +
            (c > 1 ? `, agent stream ${fmt.int(streamRuns.get(`${ef}/${c}`)!.qps)} QPS` : ""),
        );
      }
    }
    agentResult = { insertS, indexS, rssDelta, indexBytes: Number(stats.sizeOfObjectRepository), runs };
    if (indexDir) {
      t = performance.now();
      await client.unary(Agent.method.saveIndex, {});
      const saveS = (performance.now() - t) / 1000;
      client.close();
      await agent.stop();
      log("agent: restarting from the saved index …");
      t = performance.now();
      const again = await startAlvd("agent", agentArgs);
      const loadS = (performance.now() - t) / 1000;
      const c2 = new GrpcClient(`127.0.0.1:${grpcPort}`);
      try {
        const info = await c2.unary(Agent.method.indexInfo, {});
        if (info.stored + info.uncommitted !== n) throw new Error(`after restart the agent holds ${info.stored + info.uncommitted}, expected ${n}`);
        restart = { saveS, loadS, rssDelta: rssOf(again.proc.pid) - agentRss0 };
      } finally {
        c2.close();
        await again.stop();
      }
    }
  } finally {
    client.close();
    if (agent.proc.exitCode === null) await agent.stop();
    raw.clear();
    if (indexDir) rmSync(indexDir, { recursive: true, force: true });
  }

  // ---- report ----
  const a = agentResult;
  const searchRows: (string | number)[][] = [];
  for (const ef of o.efs) {
    for (const c of o.concurrency) {
      const r = rawRuns.get(`${ef}/${c}`)!;
      const g = a.runs.get(`${ef}/${c}`)!;
      const r1 = rawRuns.get(`${ef}/1`) ?? r;
      searchRows.push([ef, c, c === 1 ? "raw (search)" : "raw (searchAsync)", fmt.f(r.recall, 4), fmt.int(r.qps), fmt.ms(r.p50), fmt.ms(r.p99), "", ""]);
      searchRows.push([ef, c, "agent (unary Search)", fmt.f(g.recall, 4), fmt.int(g.qps), fmt.ms(g.p50), fmt.ms(g.p99), fmt.ratio(g.qps, r.qps), fmt.ratio(g.qps, r1.qps)]);
      const st = streamRuns.get(`${ef}/${c}`);
      if (st) {
        searchRows.push([ef, c, "agent (StreamSearch)", fmt.f(st.recall, 4), fmt.int(st.qps), fmt.ms(st.p50), fmt.ms(st.p99), fmt.ratio(st.qps, r.qps), fmt.ratio(st.qps, r1.qps)]);
      }
    }
  }
  const agentTotal = a.insertS + a.indexS;
  const report = [
    `## agent vs raw index — ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
    "",
    `fashion-mnist ${n} × ${d}, ${o.queries} queries, k=${K}, M=${M}, efC=${EF_CONSTRUCTION}, f32, l2; ${threads} cores; QPS = median of ${o.runs} run(s)`,
    "",
    table(["ef", "conc.", "what", "recall@10", "QPS", "p50", "p99", "agent/raw (same conc.)", "agent/raw c1"], searchRows),
    "",
    table(
      ["build", "raw", "agent", "agent/raw"],
      [
        [
          `insert (agent: MultiInsert ×${o.batch}, 2 in flight${o.persist ? ", WAL on" : ""}${o.autoIndex > 0 ? `, auto-index every ${o.autoIndex}` : ""})`,
          "–",
          fmt.s(a.insertS),
          "",
        ],
        [`index (raw: addAsync; agent: ${o.autoIndex > 0 ? "final " : ""}CreateIndex)`, fmt.s(rawBuildS), fmt.s(a.indexS), o.autoIndex > 0 ? "" : fmt.ratio(a.indexS, rawBuildS)],
        ["insert + index", fmt.s(rawBuildS), fmt.s(agentTotal), fmt.ratio(agentTotal, rawBuildS)],
        ...(restart ? [["SaveIndex / restart until ready", "–", `${fmt.s(restart.saveS)} / ${fmt.s(restart.loadS)}`, ""]] : []),
      ],
    ),
    "",
    table(
      ["memory per vector", "raw", "agent", "agent/raw"],
      [
        ["RSS delta / vector (agent: right after ingest)", `${fmt.int(rawRssDelta / n)} B`, `${fmt.int(a.rssDelta / n)} B`, fmt.ratio(a.rssDelta, rawRssDelta)],
        ...(restart
          ? [["RSS delta / vector (agent: after restart, loaded from disk)", `${fmt.int(rawRssDelta / n)} B`, `${fmt.int(restart.rssDelta / n)} B`, fmt.ratio(restart.rssDelta, rawRssDelta)]]
          : []),
        ["index memoryUsage / vector", `${fmt.int(rawIndexBytes / n)} B`, `${fmt.int(a.indexBytes / n)} B`, fmt.ratio(a.indexBytes, rawIndexBytes)],
      ],
    ),
    "",
  ].join("\n");
  process.stdout.write(`\n${report}\n`);
  mkdirSync(CACHE_DIR, { recursive: true });
  const json = {
    date: new Date().toISOString(),
    options: o,
    threads,
    raw: { buildS: rawBuildS, rssDelta: rawRssDelta, indexBytes: rawIndexBytes, runs: Object.fromEntries(rawRuns) },
    agent: { ...a, runs: Object.fromEntries(a.runs), streamRuns: Object.fromEntries(streamRuns), restart },
  };
  writeFileSync(join(CACHE_DIR, "agent-last.json"), JSON.stringify(json, null, 2));
  writeFileSync(join(CACHE_DIR, "agent-last.md"), report);
}
