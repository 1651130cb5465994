// `bun run bench scale`: how alvd and the raw index grow with the number of vectors.
//
// Points: deterministic clustered synthetic 96-d data (bench/lib/synthetic.ts) at each
// --points size, and Fashion-MNIST 60k × 784 (--fmnist). At every point, in one run:
//   raw  — the npm prebuilt usearch and our addon (src/index/addon.ts) in this process:
//          build with add on every core, search single-threaded (CPU from this process),
//          and our addon with searchAsync at --concurrency in flight (the whole box)
//   alvd — `alvd agent` as a child process: MultiInsert of pre-encoded batches (2 in
//          flight), CreateIndex, then unary Search driven by the C-core python3-grpcio
//          client (bench/lib/cload.ts) at --concurrency in flight; its CPU from /proc
// Recall@10 against exact neighbours of a query sample (synthetic: queries drawn from the
// same mixture, never base rows; exact by a linear scan, cached in bench/.cache/).
// Memory per vector: RSS growth of this process while a raw index is built, against the
// agent's RSS growth over ingest + CreateIndex. Builds run once per point; search runs
// alternate raw and alvd and figures are medians of --runs.
//
// Writes a section of bench/RESULTS.md and bench/scale.svg (with --quick: only
// bench/.cache/scale-quick.{md,svg}); --render redraws both from the last run's JSON.
// Flags: --quick, --points 100k,300k,1M, --fmnist 60000 (0: skip), --queries 1000, --ef 64,
// --runs 3, --repeat 2, --concurrency 16, --centres 300, --seed 1, --settle-s 10, --render
import { createRequire } from "node:module";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, getPriority, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { z } from "zod";
import { Agent } from "../src/gen/core/v1/agent_pb";
import { Insert_MultiRequestSchema, Search_RequestSchema, Search_ResponseSchema } from "../src/gen/payload/v1/payload_pb";
import { Index } from "../src/gen/vald/v1/index_pb";
import { openIndex } from "../src/index/addon";
import type { AnnIndex } from "../src/index/types";
import { benchArgs } from "./lib/args";
import { cLoad } from "./lib/cload";
import { loadFashionMnist } from "./lib/dataset";
import { CACHE_DIR, groundTruth, recallAtK, type GroundTruth } from "./lib/groundtruth";
import { GrpcClient } from "./lib/grpc";
import { freePort, startAlvd } from "./lib/process";
import { replaceSection } from "./lib/results-section";
import { rawRun, rawSearcher, runQueries, type RawRun } from "./lib/search-runs";
import { cpuSecondsOf, fmt, median, peakRssOf, percentile, rssOf, settledRss, table } from "./lib/stats";
import { compact } from "./lib/svg-plot";
import { Mixture } from "./lib/synthetic";
import { syntheticGroundTruth } from "./lib/synthetic-groundtruth";
import { scaleReport, scaleSvg, type PointResult, type ScaleRun } from "./lib/scale-report";

const K = 10;
const M = 16;
const EF_CONSTRUCTION = 128; // what the agent derives from M: max(128, 4·M)
const BATCH = 1000;
const ADD_CHUNK = 50_000;
const DIMENSION = 96;

// ---- flags ----

/** 100k, 1M, 2.5e5, 60000 → integer */
function size(flag: string, s: string): number {
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)([kKmM]?)$/.exec(s.trim());
  const v = m ? Number(m[1]) * (m[2]!.toLowerCase() === "k" ? 1e3 : m[2]!.toLowerCase() === "m" ? 1e6 : 1) : Number.NaN;
  if (!Number.isSafeInteger(v)) throw new Error(`--${flag}: "${s}" is not a whole number of vectors (e.g. 100k, 1M, 60000)`);
  return v;
}

const OptionsSchema = z.object({
  quick: z.boolean(),
  render: z.boolean(),
  points: z.array(z.number().int().min(1000, "each point needs at least 1000 vectors").max(5_000_000, "at most 5M vectors per point on this box")).min(1),
  fmnist: z.number().int().min(0).max(60_000, "Fashion-MNIST has 60000 training images"),
  queries: z.number().int().min(10).max(10_000),
  ef: z.number().int().min(K).max(4096),
  runs: z.number().int().min(1).max(20),
  repeat: z.number().int().min(1).max(20),
  concurrency: z.number().int().min(1).max(256),
  centres: z.number().int().min(1).max(100_000),
  seed: z.number().int().min(0).max(2 ** 31),
  settleS: z.number().int().min(0).max(600),
});
type Options = z.infer<typeof OptionsSchema>;

function parseArgs(argv: string[]): Options {
  const { quick, get, has } = benchArgs(argv);
  const int = (flag: string, fallback: number) => {
    const v = get(flag);
    return v === undefined ? fallback : size(flag, v);
  };
  const raw = {
    quick,
    render: has("render"),
    points: (get("points") ?? (quick ? "20k,100k" : "100k,300k,1M")).split(",").map((s) => size("points", s)),
    fmnist: int("fmnist", quick ? 10_000 : 60_000),
    queries: int("queries", quick ? 200 : 1000),
    ef: int("ef", 64),
    runs: int("runs", quick ? 1 : 3),
    repeat: int("repeat", quick ? 1 : 2),
    concurrency: int("concurrency", 16),
    centres: int("centres", 300),
    seed: int("seed", 1),
    settleS: int("settle-s", quick ? 2 : 10),
  };
  const r = OptionsSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new Error(`--${String(issue.path[0])}: ${issue.message}`);
  }
  return r.data;
}

// ---- data points ----

interface PointData {
  key: string;
  label: string;
  source: "synthetic" | "fashion-mnist";
  d: number;
  n: number;
  /** base rows [from, from + count), row-major; generated ones are written into `into` */
  rows(from: number, count: number, into?: Float32Array): Float32Array;
  queries: Float32Array;
  truth(addon: AnnIndex, log: (m: string) => void): GroundTruth;
}

function syntheticPoint(n: number, o: Options): PointData {
  const mix = new Mixture({ dimension: DIMENSION, centres: o.centres, seed: o.seed });
  const queries = mix.rows("query", 0, o.queries);
  return {
    key: `synthetic-${DIMENSION}-${n}`,
    label: `synthetic ${DIMENSION}-d, ${compact(n)}`,
    source: "synthetic",
    d: DIMENSION,
    n,
    rows: (from, count, into) => mix.rows("base", from, count, into),
    queries,
    truth: (addon, log) => syntheticGroundTruth(mix, { n, queries, k: K, index: () => addon, log }),
  };
}

function fashionPoint(n: number, o: Options): PointData {
  const ds = loadFashionMnist();
  const d = ds.dimension;
  return {
    key: `fashion-mnist-${n}`,
    label: `Fashion-MNIST ${d}-d, ${compact(n)}`,
    source: "fashion-mnist",
    d,
    n,
    rows: (from, count) => ds.train.subarray(from * d, (from + count) * d),
    queries: ds.test.subarray(0, o.queries * d),
    // one cache file with `bench agent` and `bench perf` at the default 1000 queries
    truth: (_addon, log) => groundTruth(ds, { baseCount: n, queries: o.queries, k: K, log }),
  };
}

// ---- the raw references ----

/** The npm prebuilt usearch, loaded the way its users load it. */
interface PrebuiltIndex {
  add(keys: BigUint64Array, vectors: Float32Array, threads?: number): void;
  search(vector: Float32Array, k: number, threads?: number): { keys: BigUint64Array; count: number };
}

function prebuilt(d: number, ef: number): PrebuiltIndex {
  const usearch = createRequire(import.meta.url)("usearch") as { Index: new (o: Record<string, unknown>) => PrebuiltIndex };
  return new usearch.Index({ dimensions: d, metric: "l2sq", quantization: "f32", connectivity: M, expansion_add: EF_CONSTRUCTION, expansion_search: ef });
}

/**
 * Adds all rows in chunks generated into one reused buffer (so the RSS growth is the
 * index's, not garbage rows'); returns the seconds spent in add alone.
 */
async function buildInChunks(p: PointData, what: string, buffer: Float32Array, add: (from: number, rows: Float32Array) => Promise<void> | void, log: (m: string) => void): Promise<number> {
  let spent = 0;
  for (let from = 0; from < p.n; from += ADD_CHUNK) {
    const rows = p.rows(from, Math.min(ADD_CHUNK, p.n - from), buffer);
    const t = performance.now();
    await add(from, rows);
    spent += (performance.now() - t) / 1000;
    if (p.n > ADD_CHUNK) log(`  ${what}: ${compact(Math.min(p.n, from + ADD_CHUNK))}/${compact(p.n)} added (${fmt.s(spent)})`);
  }
  return spent;
}

// ---- alvd ----

function agentArgs(d: number, ef: number, port: number, indexPath: string): string[] {
  return [
    "--name", "scale-agent",
    "--server", "",
    "--grpc-host", "127.0.0.1",
    "--grpc-port", String(port),
    "--index-path", indexPath,
    "--dimension", String(d),
    "--distance-type", "l2",
    "--object-type", "float",
    "--creation-edge-size", String(M),
    "--search-edge-size", String(ef),
    "--create-index-threshold", "0",
    "--check-index-interval", "0s",
    "--save-interval", "0s",
    "--log-level", "warn",
    "--max-message-size", "512MiB",
  ];
}

/** MultiInsert requests of BATCH rows each, encoded before the clock starts */
function insertBatches(p: PointData): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let from = 0; from < p.n; from += BATCH) {
    const count = Math.min(BATCH, p.n - from);
    const rows = p.rows(from, count);
    const requests = Array.from({ length: count }, (_, j) => ({ vector: { id: String(from + j), vector: Array.from(rows.subarray(j * p.d, (j + 1) * p.d)) } }));
    out.push(toBinary(Insert_MultiRequestSchema, create(Insert_MultiRequestSchema, { requests })));
  }
  return out;
}

async function measurePoint(p: PointData, o: Options, log: (m: string) => void): Promise<PointResult> {
  const threads = availableParallelism();
  const d = p.d;
  const nq = p.queries.length / d;
  const queries = Array.from({ length: nq }, (_, q) => p.queries.subarray(q * d, (q + 1) * d));
  const loadStart = loadavg()[0]!;
  log(`\n== ${p.label}: ${p.n} × ${d}, ${nq} queries, ef ${o.ef}`);

  // buffers reused by every chunk: allocated before the baselines are read
  const buffer = new Float32Array(ADD_CHUNK * d);
  const bigKeys = new BigUint64Array(ADD_CHUNK);
  const keys = new Float64Array(ADD_CHUNK);
  const rss0 = await settledRss();
  log(`usearch (npm prebuilt): adding on ${threads} threads …`);
  const upstream = prebuilt(d, o.ef);
  const usearchS = await buildInChunks(p, "usearch", buffer, (from, rows) => {
    const k = bigKeys.subarray(0, rows.length / d);
    for (let i = 0; i < k.length; i++) k[i] = BigInt(from + i);
    upstream.add(k, rows, threads);
  }, log);
  const afterUsearch = await settledRss();
  const usearchRss = afterUsearch - rss0;

  log(`addon: adding on ${threads} threads …`);
  const addon = openIndex({ dimensions: d, metric: "l2sq", quantization: "f32", connectivity: M, expansionAdd: EF_CONSTRUCTION, expansionSearch: o.ef }, "auto");
  let relinked = 0;
  const addonS = await buildInChunks(p, "addon", buffer, async (from, rows) => {
    const k = keys.subarray(0, rows.length / d);
    for (let i = 0; i < k.length; i++) k[i] = from + i;
    relinked += (await addon.addAsync(k, rows, threads)).relinked;
  }, log);
  const addonRss = (await settledRss()) - afterUsearch;
  const addonIndexBytes = addon.memoryUsage();
  log(`built: usearch ${fmt.s(usearchS)}, addon ${fmt.s(addonS)} (isa ${addon.isa}; ${relinked} stranded vectors linked again)`);

  const gt = p.truth(addon, log);

  const searchBodies = queries.map((v) =>
    toBinary(Search_RequestSchema, create(Search_RequestSchema, { vector: Array.from(v), config: { num: K, radius: -1, edgeSize: o.ef, timeout: 10_000_000_000n } })),
  );
  log(`alvd: encoding ${Math.ceil(p.n / BATCH)} MultiInsert batches of ${BATCH} …`);
  let batches: Uint8Array[] = insertBatches(p);

  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "alvd-scale-"));
  const agent = await startAlvd("agent", agentArgs(d, o.ef, port, dir)).catch((e: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  });
  const pid = agent.proc.pid;
  const addr = `127.0.0.1:${port}`;
  const client = new GrpcClient(addr);
  try {
    await client.waitReady();
    const agentRss0 = await settledRss(pid);
    log(`alvd: MultiInsert ${p.n} (2 in flight) …`);
    const ins = await cLoad(addr, "/vald.v1.Insert/MultiInsert", batches, { concurrency: 2 });
    const insertS = ins.wallMs / 1000;
    batches = [];
    log(`alvd: inserted in ${fmt.s(insertS)}; CreateIndex …`);
    let t = performance.now();
    await client.unary(Agent.method.createIndex, { poolSize: 0 }, 4 * 3600_000);
    const indexS = (performance.now() - t) / 1000;
    const info = await client.unary(Index.method.indexInfo, {});
    if (info.stored !== p.n || info.uncommitted !== 0) throw new Error(`alvd holds ${info.stored} (+${info.uncommitted} uncommitted), expected ${p.n}`);
    const agentRss = rssOf(pid) - agentRss0;
    const agentPeak = peakRssOf(pid) - agentRss0;
    log(`alvd: CreateIndex ${fmt.s(indexS)}; RSS +${fmt.int(agentRss / 2 ** 20)} MiB (peak +${fmt.int(agentPeak / 2 ** 20)} MiB); settling ${o.settleS} s …`);
    await Bun.sleep(o.settleS * 1000);
    const agentSettled = rssOf(pid) - agentRss0;

    const upstreamSearch = (q: Float32Array) => {
      const m = upstream.search(q, K, 1);
      return Array.from(m.keys.subarray(0, m.count), Number);
    };
    const addonSearch = (q: Float32Array) => {
      const h = addon.search(q, K, o.ef);
      return h.keys.subarray(0, h.count);
    };
    const addonMt = rawSearcher(addon, queries, K, o.ef, o.concurrency);
    await cLoad(addr, "/vald.v1.Search/Search", searchBodies.slice(0, 100), { concurrency: o.concurrency }); // warm-up
    rawRun(addonSearch, queries.slice(0, 100), 1);
    const acc = { usearch: [] as RawRun[], addon: [] as RawRun[], addonMtQps: [] as number[], alvdCpu: [] as number[], alvdQps: [] as number[] };
    let addonMtFound: ArrayLike<number>[] = [];
    let alvdLast: Awaited<ReturnType<typeof cLoad>> | undefined;
    for (let r = 0; r < o.runs; r++) {
      acc.usearch.push(rawRun(upstreamSearch, queries, o.repeat));
      acc.addon.push(rawRun(addonSearch, queries, o.repeat));
      const mt = await runQueries(o.concurrency, nq * o.repeat, (i) => addonMt(i % nq));
      acc.addonMtQps.push(mt.qps);
      addonMtFound = mt.found.slice(0, nq);
      const c0 = cpuSecondsOf(pid);
      alvdLast = await cLoad(addr, "/vald.v1.Search/Search", searchBodies, { concurrency: o.concurrency, repeat: o.repeat });
      const calls = alvdLast.responses.length;
      acc.alvdCpu.push(((cpuSecondsOf(pid) - c0) * 1e6) / calls);
      acc.alvdQps.push((calls / alvdLast.wallMs) * 1000);
      log(
        `run ${r + 1}/${o.runs}: QPS usearch ${fmt.int(acc.usearch.at(-1)!.qps)}, addon ${fmt.int(acc.addon.at(-1)!.qps)} (1 thread), ` +
          `addon ${fmt.int(mt.qps)} (${o.concurrency} in flight), alvd ${fmt.int(acc.alvdQps.at(-1)!)}; CPU µs/q addon ${fmt.int(acc.addon.at(-1)!.cpuUs)}, alvd ${fmt.int(acc.alvdCpu.at(-1)!)}`,
      );
    }
    const alvdFound = alvdLast!.responses.slice(0, nq).map((b) => fromBinary(Search_ResponseSchema, b).results.map((x) => Number(x.id)));
    const raw = (runs: RawRun[]) => ({ recall: recallAtK(runs.at(-1)!.found, gt, K), cpuUs: median(runs.map((x) => x.cpuUs)), qps: median(runs.map((x) => x.qps)) });
    return {
      key: p.key,
      label: p.label,
      source: p.source,
      d,
      n: p.n,
      queries: nq,
      buildS: { usearch: usearchS, addon: addonS, alvdInsert: insertS, alvdIndex: indexS },
      rss: { usearch: usearchRss, addon: addonRss, alvd: agentRss, alvdSettled: agentSettled, alvdPeak: agentPeak },
      addonIndexBytes,
      load: [loadStart, loadavg()[0]!],
      search: {
        usearch: raw(acc.usearch),
        addon: raw(acc.addon),
        addonMt: { recall: recallAtK(addonMtFound, gt, K), qps: median(acc.addonMtQps) },
        alvd: {
          recall: recallAtK(alvdFound, gt, K),
          cpuUs: median(acc.alvdCpu),
          qps: median(acc.alvdQps),
          p50: percentile(alvdLast!.latenciesMs, 50),
          p99: percentile(alvdLast!.latenciesMs, 99),
        },
      },
    };
  } finally {
    client.close();
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
    addon.clear();
  }
}

// ---- entry ----

function outputs(quick: boolean) {
  return quick
    ? { json: join(CACHE_DIR, "scale-quick.json"), md: join(CACHE_DIR, "scale-quick.md"), svg: join(CACHE_DIR, "scale-quick.svg"), results: undefined }
    : { json: join(CACHE_DIR, "scale-last.json"), md: join(CACHE_DIR, "scale-last.md"), svg: join(import.meta.dir, "scale.svg"), results: join(import.meta.dir, "RESULTS.md") };
}

function write(run: ScaleRun, quick: boolean, log: (m: string) => void): void {
  const out = outputs(quick);
  mkdirSync(CACHE_DIR, { recursive: true });
  writeFileSync(out.svg, scaleSvg(run));
  const md = scaleReport(run, quick ? "scale-quick.svg" : "scale.svg");
  writeFileSync(out.md, md);
  if (out.results) replaceSection(out.results, "scale", md);
  process.stdout.write(`\n${md}\n`);
  log(`wrote ${out.svg}${out.results ? ` and the scale section of ${out.results}` : `, ${out.md}`}`);
}

export async function benchScale(argv: string[]): Promise<void> {
  const log = (m: string) => process.stderr.write(`${m}\n`);
  let o: Options;
  try {
    o = parseArgs(argv);
  } catch (e) {
    log(`bench scale: ${(e as Error).message}`);
    process.exit(2);
  }
  if (o.render) {
    const file = outputs(o.quick).json;
    if (!existsSync(file)) {
      log(`bench scale: --render needs a previous run's ${file}; run \`bun run bench scale${o.quick ? " --quick" : ""}\` first`);
      process.exit(2);
    }
    write(JSON.parse(readFileSync(file, "utf8")) as ScaleRun, o.quick, log);
    return;
  }
  const points: (() => PointData)[] = [...o.points].sort((a, b) => a - b).map((n) => () => syntheticPoint(n, o));
  if (o.fmnist > 0) points.push(() => fashionPoint(o.fmnist, o));
  const started = performance.now();
  const head = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: import.meta.dir });
  const run: ScaleRun = {
    date: new Date().toISOString(),
    commit: head.exitCode === 0 ? head.stdout.toString().trim() : undefined,
    cores: availableParallelism(),
    nice: getPriority(),
    bun: Bun.version,
    k: K,
    m: M,
    efConstruction: EF_CONSTRUCTION,
    ef: o.ef,
    runs: o.runs,
    repeat: o.repeat,
    concurrency: o.concurrency,
    batch: BATCH,
    settleS: o.settleS,
    mixture: { dimension: DIMENSION, centres: o.centres, seed: o.seed },
    points: [],
    minutes: 0,
  };
  for (const [i, make] of points.entries()) {
    log(`point ${i + 1}/${points.length} (${((performance.now() - started) / 60_000).toFixed(1)} min so far)`);
    run.points.push(await measurePoint(make(), o, log));
    run.minutes = (performance.now() - started) / 60_000;
    // every finished point is kept: a later point failing does not lose the earlier ones
    mkdirSync(CACHE_DIR, { recursive: true });
    writeFileSync(outputs(o.quick).json, JSON.stringify(run, null, 2));
    Bun.gc(true);
  }
  write(run, o.quick, log);
}

if (import.meta.main) await benchScale(process.argv.slice(2));
