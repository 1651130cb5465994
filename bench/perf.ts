// `bun run bench perf`: the CPU alvd spends per query against the raw index, in one run.
//
// References, searching the same queries single-threaded in this process:
//   usearch — the npm prebuilt (node_modules/usearch), the library as users get it
//   addon   — our own build of usearch (native/), called directly
// Deployments, driven by a C-core gRPC client (Debian's python3-grpcio, its own process,
// pre-encoded requests) at --concurrency in flight; their CPU is read from /proc for
// every alvd process of the deployment, so the client's cost counts nowhere:
//   agent    — `alvd agent`, on its own port
//   embedded — `alvd server` with its embedded agent, on the gateway port
//   tunnel   — `alvd server --agent=false` + one `alvd agent` over the websocket tunnel
// Runs alternate reference and deployment so both see the same background load; figures
// are medians over --runs. The agent is also measured with MultiSearch (batches of 16,
// one in flight) and StreamSearch (16 in flight), and ingest (MultiInsert and
// StreamInsert of the whole set, then CreateIndex; StreamInsert from the C-core client
// and from h2load writing ahead) each against a raw add of our addon just before it, with memory
// as a user sees it: process RSS after ingest, 30 s later, peak, and after a restart.
//
// The floor under every unary call is measured too: a bare Bun node:http2 server that
// reads each Search body and answers a fixed message (bench/lib/h2-echo.ts).
// Flags: --quick, --queries N, --repeat N, --runs N, --ef 64, --concurrency 16,
// --base 60000, --only agent,embedded,tunnel, --settle-s 30
import { createRequire } from "node:module";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  Insert_MultiRequestSchema,
  Insert_RequestSchema,
  Object_StreamLocationSchema,
  Search_MultiRequestSchema,
  Search_RequestSchema,
  Search_ResponseSchema,
  Search_ResponsesSchema,
  Search_StreamResponseSchema,
} from "../src/gen/payload/v1/payload_pb";
import { Agent } from "../src/gen/core/v1/agent_pb";
import { Index } from "../src/gen/vald/v1/index_pb";
import { openIndex } from "../src/index/addon";
import { benchArgs } from "./lib/args";
import { cLoad } from "./lib/cload";
import { rawRun } from "./lib/search-runs";
import { loadFashionMnist, row, type Dataset } from "./lib/dataset";
import { CACHE_DIR, groundTruth, recallAtK, type GroundTruth } from "./lib/groundtruth";
import { GrpcClient } from "./lib/grpc";
import { startH2Echo } from "./lib/h2-floor";
import { h2loadStream } from "./lib/h2load-stream";
import { freePort, startAlvd, type AlvdProcess } from "./lib/process";
import { cpuSecondsOf, fmt, jitDelta, jitThreadsOf, median, peakRssOf, percentile, rssOf, settledRss, table } from "./lib/stats";

const K = 10;
const M = 16;
const EF_CONSTRUCTION = 128;
const BATCH = 1000;
const DEPLOYMENTS = ["agent", "embedded", "tunnel"] as const;
type Deployment = (typeof DEPLOYMENTS)[number];

interface Options {
  queries: number;
  repeat: number;
  runs: number;
  ef: number;
  concurrency: number;
  base: number;
  only: Deployment[];
  settleS: number;
}

function parseArgs(argv: string[]): Options {
  const { quick, get } = benchArgs(argv);
  const only = (get("only")?.split(",") ?? [...DEPLOYMENTS]) as Deployment[];
  for (const d of only) if (!DEPLOYMENTS.includes(d)) throw new Error(`--only: unknown deployment ${d} (${DEPLOYMENTS.join(", ")})`);
  return {
    queries: Number(get("queries") ?? (quick ? 300 : 1000)),
    repeat: Number(get("repeat") ?? (quick ? 1 : 2)),
    runs: Number(get("runs") ?? (quick ? 1 : 3)),
    ef: Number(get("ef") ?? 64),
    concurrency: Number(get("concurrency") ?? 16),
    base: Number(get("base") ?? (quick ? 20_000 : 60_000)),
    only,
    settleS: Number(get("settle-s") ?? (quick ? 5 : 30)),
  };
}

/** The npm prebuilt usearch, loaded the way its users load it. */
interface PrebuiltIndex {
  add(keys: BigUint64Array, vectors: Float32Array, threads?: number): void;
  save(path: string): void;
  search(vector: Float32Array, k: number, threads?: number): { keys: BigUint64Array; count: number };
}

function prebuilt(d: number, ef: number): PrebuiltIndex {
  const usearch = createRequire(import.meta.url)("usearch") as { Index: new (o: Record<string, unknown>) => PrebuiltIndex };
  return new usearch.Index({ dimensions: d, metric: "l2sq", quantization: "f32", connectivity: M, expansion_add: EF_CONSTRUCTION, expansion_search: ef });
}

function indexFlags(d: number, ef: number): string[] {
  return [
    "--dimension", String(d),
    "--distance-type", "l2",
    "--creation-edge-size", String(M),
    "--search-edge-size", String(ef),
    "--create-index-threshold", "0",
    "--check-index-interval", "0s",
    "--save-interval", "0s",
    "--log-level", "warn",
    "--max-message-size", "512MiB",
  ];
}

interface Deployed {
  addr: string;
  /** the process that holds the vectors (for memory) */
  holder: AlvdProcess;
  pids(): number[];
  restartHolder?(): Promise<void>;
  stop(): Promise<void>;
}

async function deploy(kind: Deployment, d: number, ef: number, indexPath: string): Promise<Deployed> {
  const grpc = await freePort();
  if (kind === "agent") {
    const args = ["--name", "perf-agent", "--server", "", "--grpc-host", "127.0.0.1", "--grpc-port", String(grpc), "--index-path", indexPath, ...indexFlags(d, ef)];
    let agent = await startAlvd("agent", args);
    return {
      addr: `127.0.0.1:${grpc}`,
      get holder() {
        return agent;
      },
      pids: () => [agent.proc.pid],
      async restartHolder() {
        await agent.stop();
        agent = await startAlvd("agent", args, 300_000);
      },
      stop: async () => void (await agent.stop()),
    };
  }
  const [ws, embeddedPort] = [await freePort(), await freePort()];
  const server = await startAlvd("server", [
    "--server-grpc-host", "127.0.0.1", "--server-grpc-port", String(grpc), "--server", `127.0.0.1:${ws}`,
    "--grpc-host", "127.0.0.1", "--grpc-port", String(embeddedPort), "--replicas", "1", "--name", "perf-embedded",
    "--agent", String(kind === "embedded"), ...(kind === "embedded" ? ["--index-path", indexPath] : []), ...indexFlags(d, ef),
  ]);
  const agents: AlvdProcess[] = [];
  if (kind === "tunnel") {
    agents.push(await startAlvd("agent", ["--server", `127.0.0.1:${ws}`, "--name", "perf-tunnel", "--grpc-host", "127.0.0.1", "--grpc-port", String(await freePort()), "--index-path", indexPath, ...indexFlags(d, ef)]));
  }
  const client = new GrpcClient(`127.0.0.1:${grpc}`);
  try {
    await client.waitReady();
    for (const end = Date.now() + 30_000; ; await Bun.sleep(100)) {
      if (Object.keys((await client.unary(Index.method.indexDetail, {})).counts).length === 1) break;
      if (Date.now() > end) throw new Error(`${kind}: the agent never joined`);
    }
  } finally {
    client.close();
  }
  return {
    addr: `127.0.0.1:${grpc}`,
    holder: agents[0] ?? server,
    pids: () => [server.proc.pid, ...agents.map((a) => a.proc.pid)],
    async stop() {
      for (const a of agents) await a.stop();
      await server.stop();
    },
  };
}

const cpuOf = (pids: number[]) => pids.reduce((s, p) => s + cpuSecondsOf(p), 0);
const jitOf = (pids: number[]) => new Map(pids.flatMap((p) => [...jitThreadsOf(p)]));

/** JIT compile time per query below which a deployment counts as warmed up */
const SETTLED_JIT_US = 5;
/** queries per warm-up window: /proc counts CPU in 10 ms ticks, so ≥ 4000 resolve 2.5 µs */
const WARM_WINDOW_QUERIES = 4000;
const MAX_WARM_WINDOWS = 15;

/**
 * Runs windows of passes over the bodies until the deployment's JIT compiler threads go
 * quiet (a server's steady state; JavaScriptCore keeps compiling for the first
 * ten-thousands of calls) or MAX_WARM_WINDOWS. Returns the queries run and the JIT µs per
 * query of the last window.
 */
async function warmUp(pids: number[], queriesPerPass: number, run: () => Promise<unknown>): Promise<{ queries: number; jitUs: number }> {
  let jitUs = Infinity;
  let queries = 0;
  for (let w = 0; w < MAX_WARM_WINDOWS && jitUs >= SETTLED_JIT_US; w++) {
    const j0 = jitOf(pids);
    let inWindow = 0;
    while (inWindow < WARM_WINDOW_QUERIES) {
      await run();
      inWindow += queriesPerPass;
    }
    jitUs = (jitDelta(j0, jitOf(pids)) * 1e6) / inWindow;
    queries += inWindow;
  }
  return { queries, jitUs };
}

interface Measured {
  cpuUs: number;
  qps: number;
  p50: number;
  p99: number;
  recall: number;
}

function summarise(cpuUs: number[], qps: number[], latencies: ArrayLike<number>, found: ArrayLike<number>[], gt: GroundTruth): Measured {
  return { cpuUs: median(cpuUs), qps: median(qps), p50: percentile(latencies, 50), p99: percentile(latencies, 99), recall: recallAtK(found, gt, K) };
}

/** Pre-encoded ingest bodies: MultiInsert batches of BATCH, and StreamInsert items. */
function ingestBodies(ds: Dataset, n: number): { multi: Uint8Array[]; stream: Uint8Array[] } {
  const d = ds.dimension;
  const item = (i: number) => ({ vector: { id: String(i), vector: Array.from(row(ds.train, d, i)) } });
  const multi: Uint8Array[] = [];
  for (let from = 0; from < n; from += BATCH) {
    const requests = Array.from({ length: Math.min(BATCH, n - from) }, (_, j) => item(from + j));
    multi.push(toBinary(Insert_MultiRequestSchema, create(Insert_MultiRequestSchema, { requests })));
  }
  const stream = Array.from({ length: n }, (_, i) => toBinary(Insert_RequestSchema, create(Insert_RequestSchema, item(i))));
  return { multi, stream };
}

/**
 * Pre-encoded inserts (the client's CPU and encoding are not alvd's), then CreateIndex:
 * "multi" and "stream" from the C-core client (StreamInsert with 64 in flight, each
 * next item sent once an answer frees a place), "stream-ahead" from h2load writing the
 * whole stream ahead. The insert time is the client's own, first request to last answer
 * (not its start-up or writing its request file).
 */
async function ingest(kind: "multi" | "stream" | "stream-ahead", addr: string, bodies: { multi: Uint8Array[]; stream: Uint8Array[] }, n: number, holder: () => number): Promise<{ insertS: number; indexS: number; peakRss: number }> {
  const client = new GrpcClient(addr);
  try {
    await client.waitReady();
    let insertMs: number;
    if (kind === "multi") {
      insertMs = (await cLoad(addr, "/vald.v1.Insert/MultiInsert", bodies.multi, { concurrency: 2 })).wallMs;
    } else if (kind === "stream") {
      const run = await cLoad(addr, "/vald.v1.Insert/StreamInsert", bodies.stream, { concurrency: 64, stream: true });
      const failed = run.responses.filter((b) => fromBinary(Object_StreamLocationSchema, b).payload.case !== "location").length;
      if (failed > 0) throw new Error(`StreamInsert: ${failed} items failed`);
      insertMs = run.wallMs;
    } else {
      // h2load reads no answers: the counts below tell whether every item landed
      insertMs = (await h2loadStream(addr, "/vald.v1.Insert/StreamInsert", bodies.stream)).wallMs;
    }
    const insertS = insertMs / 1000;
    const t = performance.now();
    await client.unary(Agent.method.createIndex, { poolSize: 0 });
    const indexS = (performance.now() - t) / 1000;
    const info = await client.unary(Index.method.indexInfo, {});
    if (info.stored + info.uncommitted !== n) throw new Error(`${info.stored} + ${info.uncommitted} held, expected ${n}`);
    return { insertS, indexS, peakRss: peakRssOf(holder()) };
  } finally {
    client.close();
  }
}

export async function benchPerf(argv: string[]): Promise<void> {
  const o = parseArgs(argv);
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const threads = availableParallelism();
  log("loading fashion-mnist …");
  const ds = loadFashionMnist();
  const n = Math.min(o.base, ds.trainCount);
  const d = ds.dimension;
  const gt = groundTruth(ds, { baseCount: n, queries: Math.max(o.queries, 1000), k: K, log });
  const queries = Array.from({ length: o.queries }, (_, q) => row(ds.test, d, q).slice());
  const searchBytes = queries.map((v) =>
    toBinary(Search_RequestSchema, create(Search_RequestSchema, { vector: Array.from(v), config: { num: K, radius: -1, edgeSize: o.ef, timeout: 10_000_000_000n } })),
  );
  // StreamSearch takes Search.Request messages, like Search
  const streamSearchBytes = searchBytes;
  const multiBytes: Uint8Array[] = [];
  for (let q = 0; q < o.queries; q += 16) {
    const requests = queries.slice(q, q + 16).map((v) => ({ vector: Array.from(v), config: { num: K, radius: -1, edgeSize: o.ef, timeout: 10_000_000_000n } }));
    multiBytes.push(toBinary(Search_MultiRequestSchema, create(Search_MultiRequestSchema, { requests })));
  }
  const keys = Float64Array.from({ length: n }, (_, i) => i);
  const vectors = ds.train.subarray(0, n * d);

  // references: the npm prebuilt, then our addon; build times are the ingest references
  const upstreamKeys = BigUint64Array.from({ length: n }, (_, i) => BigInt(i));
  const rss0 = await settledRss();
  log(`usearch (npm prebuilt): building ${n} × ${d} on ${threads} threads …`);
  const upstream = prebuilt(d, o.ef);
  let t = performance.now();
  upstream.add(upstreamKeys, vectors, threads);
  const upstreamBuildS = (performance.now() - t) / 1000;
  const upstreamRss = (await settledRss()) - rss0;
  log(`addon: building …`);
  const addon = openIndex({ dimensions: d, metric: "l2sq", quantization: "f32", connectivity: M, expansionAdd: EF_CONSTRUCTION, expansionSearch: o.ef }, "auto");
  t = performance.now();
  await addon.addAsync(keys, vectors, threads);
  const addonBuildS = (performance.now() - t) / 1000;
  log(`built: usearch ${fmt.s(upstreamBuildS)}, addon ${fmt.s(addonBuildS)} (addon isa ${addon.isa})`);
  // encoded after the raw RSS was read: the encoding's garbage, reused by the build,
  // would hide part of the raw index's memory
  log("encoding the ingest requests …");
  const bodies = ingestBodies(ds, n);
  // The kernels compared on one graph: the prebuilt's own index file, loaded by our addon
  // (two builds on several threads give two slightly different graphs).
  const graphFile = join(mkdtempSync(join(tmpdir(), "alvd-perf-graph-")), "usearch.bin");
  upstream.save(graphFile);
  const sameGraph = openIndex({ dimensions: d, metric: "l2sq", quantization: "f32", connectivity: M, expansionAdd: EF_CONSTRUCTION, expansionSearch: o.ef }, "auto");
  sameGraph.load(graphFile);
  rmSync(graphFile, { force: true });
  const searchUpstream = (q: Float32Array) => {
    const m = upstream.search(q, K, 1);
    return Array.from(m.keys.subarray(0, m.count), Number);
  };
  const searchAddon = (q: Float32Array) => {
    const h = addon.search(q, K, o.ef);
    return h.keys.subarray(0, h.count);
  };
  const searchSameGraph = (q: Float32Array) => {
    const h = sameGraph.search(q, K, o.ef);
    return h.keys.subarray(0, h.count);
  };

  // the HTTP/2 floor: a bare Bun node:http2 server answering the same Search bodies with a
  // Search.Response-sized message, driven like a deployment (see bench/lib/h2-echo.ts)
  const typicalAnswer = toBinary(Search_ResponseSchema, create(Search_ResponseSchema, { results: Array.from({ length: K }, (_, i) => ({ id: String(n - 1 - i), distance: 1234.5 })) }));
  const echo = await startH2Echo(typicalAnswer.byteLength);
  const floor = { cpu: [] as number[], qps: [] as number[], p50: 0 };
  try {
    const w = await warmUp([echo.proc.pid], searchBytes.length, () => cLoad(echo.addr, "/vald.v1.Search/Search", searchBytes, { concurrency: o.concurrency }));
    log(`h2 floor: warmed up with ${fmt.int(w.queries)} calls`);
    for (let r = 0; r < o.runs; r++) {
      const c0 = cpuSecondsOf(echo.proc.pid);
      const run = await cLoad(echo.addr, "/vald.v1.Search/Search", searchBytes, { concurrency: o.concurrency, repeat: o.repeat });
      floor.cpu.push(((cpuSecondsOf(echo.proc.pid) - c0) * 1e6) / run.responses.length);
      floor.qps.push((run.responses.length / run.wallMs) * 1000);
      floor.p50 = percentile(run.latenciesMs, 50);
    }
    log(`h2 floor: ${fmt.int(median(floor.cpu))} µs per call`);
  } finally {
    await echo.stop();
  }

  const rows: (string | number)[][] = [];
  type Ref = "usearch" | "addon" | "same";
  const refCpu: Record<Ref, number[]> = { usearch: [], addon: [], same: [] };
  const refQps: Record<Ref, number[]> = { usearch: [], addon: [], same: [] };
  const refLast: Partial<Record<Ref, ReturnType<typeof rawRun>>> = {};
  const ingestRows: (string | number)[][] = [];
  const memRows: (string | number)[][] = [];
  // Each ingest is paired with a raw add just before it: this VM's speed drifts by
  // 10-20 % over the minutes between ingests, more than the overhead being measured.
  const rawAdd = async (): Promise<number> => {
    const ix = openIndex({ dimensions: d, metric: "l2sq", quantization: "f32", connectivity: M, expansionAdd: EF_CONSTRUCTION, expansionSearch: o.ef }, "auto");
    const t0 = performance.now();
    await ix.addAsync(keys, vectors, threads);
    const s = (performance.now() - t0) / 1000;
    Bun.gc(true);
    return s;
  };
  const measure = (which: Ref) => {
    const r = rawRun(which === "usearch" ? searchUpstream : which === "addon" ? searchAddon : searchSameGraph, queries, o.repeat);
    refCpu[which].push(r.cpuUs);
    refQps[which].push(r.qps);
    refLast[which] = r;
  };

  for (const kind of o.only) {
    const dir = mkdtempSync(join(tmpdir(), `alvd-perf-${kind}-`));
    const dep = await deploy(kind, d, o.ef, dir);
    try {
      const rssBefore = await settledRss(dep.holder.proc.pid);
      const raw = await rawAdd();
      log(`${kind}: raw add ${fmt.s(raw)}; MultiInsert ${n} + CreateIndex …`);
      const ing = await ingest("multi", dep.addr, bodies, n, () => dep.holder.proc.pid);
      const rssAfter = rssOf(dep.holder.proc.pid);
      ingestRows.push([kind, "MultiInsert ×1000 + CreateIndex", fmt.s(ing.insertS), fmt.s(ing.indexS), fmt.s(ing.insertS + ing.indexS), fmt.s(raw), fmt.ratio(ing.insertS + ing.indexS, raw)]);
      log(`${kind}: insert ${fmt.s(ing.insertS)} + index ${fmt.s(ing.indexS)}; settling ${o.settleS} s …`);
      await Bun.sleep(o.settleS * 1000);
      const rssSettled = rssOf(dep.holder.proc.pid);
      const client = new GrpcClient(dep.addr);
      await client.waitReady();
      const methods: [string, string, Uint8Array[], number][] = [["Search", "/vald.v1.Search/Search", searchBytes, o.concurrency]];
      if (kind === "agent") methods.push(["MultiSearch ×16", "/vald.v1.Search/MultiSearch", multiBytes, 1]);
      for (const [label, path, bodies, conc] of methods) {
        // warm-up until the JIT has settled, so CPU is counted in the steady state
        const w = await warmUp(dep.pids(), bodies.length * (label.startsWith("Multi") ? 16 : 1), () => cLoad(dep.addr, path, bodies, { concurrency: conc }));
        log(`${kind} ${label}: warmed up with ${fmt.int(w.queries)} queries (JIT ${fmt.f(w.jitUs, 1)} µs/q at the end)`);
        const cpu: number[] = [];
        const qps: number[] = [];
        let last: Awaited<ReturnType<typeof cLoad>> | undefined;
        for (let r = 0; r < o.runs; r++) {
          measure("usearch");
          measure("addon");
          const c0 = cpuOf(dep.pids());
          last = await cLoad(dep.addr, path, bodies, { concurrency: conc, repeat: o.repeat });
          const calls = last.responses.length;
          const perCall = label.startsWith("Multi") ? 16 : 1;
          cpu.push(((cpuOf(dep.pids()) - c0) * 1e6) / (calls * perCall));
          qps.push(((calls * perCall) / last.wallMs) * 1000);
        }
        const found = label.startsWith("Multi")
          ? last!.responses.slice(0, bodies.length).flatMap((b) => fromBinary(Search_ResponsesSchema, b).responses.map((r) => r.results.map((x) => Number(x.id))))
          : last!.responses.slice(0, o.queries).map((b) => fromBinary(Search_ResponseSchema, b).results.map((x) => Number(x.id)));
        const m = summarise(cpu, qps, last!.latenciesMs, found, gt);
        rows.push([kind, label, conc === 1 && label.startsWith("Multi") ? "1×16" : conc, fmt.f(m.recall, 4), fmt.int(m.cpuUs), fmt.ratio(median(refCpu.usearch), m.cpuUs), fmt.ratio(median(refCpu.addon), m.cpuUs), fmt.int(m.qps), fmt.ms(m.p50), fmt.ms(m.p99), fmt.ratio(m.p99, m.p50)]);
        log(`${kind} ${label}: ${fmt.int(m.cpuUs)} µs/q (usearch ${fmt.int(median(refCpu.usearch))}, addon ${fmt.int(median(refCpu.addon))}), p50 ${fmt.ms(m.p50)} p99 ${fmt.ms(m.p99)}`);
      }
      if (kind === "agent") {
        // StreamSearch: one stream, --concurrency queries in flight, the same C-core client
        const w = await warmUp(dep.pids(), streamSearchBytes.length, () => cLoad(dep.addr, "/vald.v1.Search/StreamSearch", streamSearchBytes, { concurrency: o.concurrency, stream: true }));
        log(`${kind} StreamSearch: warmed up with ${fmt.int(w.queries)} queries (JIT ${fmt.f(w.jitUs, 1)} µs/q at the end)`);
        const cpu: number[] = [];
        const qps: number[] = [];
        let last: Awaited<ReturnType<typeof cLoad>> | undefined;
        for (let r = 0; r < o.runs; r++) {
          measure("usearch");
          measure("addon");
          const c0 = cpuOf(dep.pids());
          last = await cLoad(dep.addr, "/vald.v1.Search/StreamSearch", streamSearchBytes, { concurrency: o.concurrency, repeat: o.repeat, stream: true });
          cpu.push(((cpuOf(dep.pids()) - c0) * 1e6) / last.responses.length);
          qps.push((last.responses.length / last.wallMs) * 1000);
        }
        const found = last!.responses.slice(0, o.queries).map((b) => {
          const res = fromBinary(Search_StreamResponseSchema, b);
          return res.payload.case === "response" ? res.payload.value.results.map((x) => Number(x.id)) : [];
        });
        const m = summarise(cpu, qps, last!.latenciesMs, found, gt);
        rows.push([kind, "StreamSearch", o.concurrency, fmt.f(m.recall, 4), fmt.int(m.cpuUs), fmt.ratio(median(refCpu.usearch), m.cpuUs), fmt.ratio(median(refCpu.addon), m.cpuUs), fmt.int(m.qps), fmt.ms(m.p50), fmt.ms(m.p99), fmt.ratio(m.p99, m.p50)]);
        log(`${kind} StreamSearch: ${fmt.int(m.cpuUs)} µs/q, p50 ${fmt.ms(m.p50)} p99 ${fmt.ms(m.p99)}`);
      }
      client.close();
      let rssRestart: number | undefined;
      if (dep.restartHolder) {
        const c = new GrpcClient(dep.addr);
        await c.unary(Agent.method.saveIndex, {});
        c.close();
        await dep.restartHolder();
        rssRestart = rssOf(dep.holder.proc.pid);
      }
      const per = (bytes: number) => `${fmt.int(bytes / n)} B`;
      memRows.push([
        kind,
        per(upstreamRss),
        `${per(rssAfter - rssBefore)} (${fmt.ratio(rssAfter - rssBefore, upstreamRss)})`,
        `${per(rssSettled - rssBefore)} (${fmt.ratio(rssSettled - rssBefore, upstreamRss)})`,
        `${per(ing.peakRss - rssBefore)} (${fmt.ratio(ing.peakRss - rssBefore, upstreamRss)})`,
        rssRestart === undefined ? "–" : `${per(rssRestart - rssBefore)} (${fmt.ratio(rssRestart - rssBefore, upstreamRss)})`,
      ]);
    } finally {
      await dep.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    if (kind === "agent") {
      // StreamInsert ingest on fresh agents: the other bulk road, from both clients
      for (const [how, label] of [
        ["stream", "StreamInsert (C-core, 64 in flight) + CreateIndex"],
        ["stream-ahead", "StreamInsert (h2load, writes ahead) + CreateIndex"],
      ] as const) {
        const sdir = mkdtempSync(join(tmpdir(), "alvd-perf-stream-"));
        const sdep = await deploy("agent", d, o.ef, sdir);
        try {
          const raw = await rawAdd();
          log(`agent: raw add ${fmt.s(raw)}; ${label} …`);
          const s = await ingest(how, sdep.addr, bodies, n, () => sdep.holder.proc.pid);
          ingestRows.push(["agent", label, fmt.s(s.insertS), fmt.s(s.indexS), fmt.s(s.insertS + s.indexS), fmt.s(raw), fmt.ratio(s.insertS + s.indexS, raw)]);
        } finally {
          await sdep.stop();
          rmSync(sdir, { recursive: true, force: true });
        }
      }
    }
  }
  // kernels on one graph: alternate the prebuilt and our addon on the prebuilt's own index
  for (let r = 0; r < o.runs; r++) {
    measure("usearch");
    measure("same");
  }
  const refRows = (["usearch", "addon", "same"] as const).map((w) => {
    const last = refLast[w];
    return [w === "usearch" ? "usearch (npm prebuilt), 1 thread" : w === "addon" ? "our addon, 1 thread (its own build)" : "our addon on usearch's graph, 1 thread", last ? fmt.f(recallAtK(last.found, gt, K), 4) : "–", fmt.int(median(refCpu[w])), fmt.int(median(refQps[w])), last ? fmt.ms(percentile(last.latencies, 50)) : "–"];
  });
  refRows.push([`Bun node:http2, bare gRPC echo (no search; ${o.concurrency} in flight)`, "–", fmt.int(median(floor.cpu)), fmt.int(median(floor.qps)), fmt.ms(floor.p50)]);
  const report = [
    `## perf — ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
    "",
    `fashion-mnist ${n} × ${d}, ${o.queries} queries × ${o.repeat}, k=${K}, M=${M}, efC=${EF_CONSTRUCTION}, ef=${o.ef}, f32, l2; ${threads} cores. ` +
      `CPU µs/q: all CPU time of the deployment's alvd processes (from /proc) per query, the client (python3-grpcio, C-core) not counted; ` +
      `raw/alvd = the reference's CPU per query over alvd's (higher is better, 1.00 = no overhead). Medians of ${o.runs} alternating run(s), ` +
      `each deployment and call measured in its steady state: after warm-up windows of ${WARM_WINDOW_QUERIES} queries until its JIT compiler threads used < ${SETTLED_JIT_US} µs per query.`,
    "",
    table(["reference", "recall@10", "CPU µs/q", "QPS", "p50"], refRows),
    "",
    table(["deployment", "call", "in flight", "recall@10", "CPU µs/q", "usearch/alvd", "addon/alvd", "QPS", "p50", "p99", "p99/p50"], rows),
    "",
    table(["deployment", "ingest", "insert", "CreateIndex", "total", `raw add just before (${threads} threads)`, "total/raw"], ingestRows),
    "",
    `usearch (npm prebuilt) build: ${fmt.s(upstreamBuildS)} on ${threads} threads.`,
    "",
    table(["deployment", "raw usearch RSS/vector", "alvd right after ingest", `after ${o.settleS} s`, "peak during ingest", "after a restart"], memRows),
    "",
  ].join("\n");
  process.stdout.write(`\n${report}\n`);
  mkdirSync(CACHE_DIR, { recursive: true });
  writeFileSync(join(CACHE_DIR, "perf-last.md"), report);
  addon.clear();
  sameGraph.clear();
}
