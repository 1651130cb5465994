// The scale benchmark's figures (bench/scale.ts) as Markdown tables and an SVG plot:
// pure functions of one run's record, so a finished run can be redrawn (`--render`).
import { fmt, table } from "./stats";
import { chartsSvg, compact, type Panel, type Series } from "./svg-plot";

export interface PointResult {
  key: string;
  label: string;
  source: "synthetic" | "fashion-mnist";
  d: number;
  n: number;
  queries: number;
  /** seconds; raw = add on every core, alvd = MultiInsert then CreateIndex */
  buildS: { usearch: number; addon: number; alvdInsert: number; alvdIndex: number };
  /** bytes: RSS growth of this process (raw) or of the agent (alvd) */
  rss: { usearch: number; addon: number; alvd: number; alvdSettled: number; alvdPeak: number };
  addonIndexBytes: number;
  /** 1-minute load average when the point started and ended (absent in older runs) */
  load?: [start: number, end: number];
  search: {
    usearch: { recall: number; cpuUs: number; qps: number };
    addon: { recall: number; cpuUs: number; qps: number };
    addonMt: { recall: number; qps: number };
    alvd: { recall: number; cpuUs: number; qps: number; p50: number; p99: number };
  };
}

function niceNote(run: ScaleRun): string {
  const nice = run.nice ?? 19;
  return nice === 0 ? " (other work ran at times: see the load averages under Build)" : ` (shared with other work, benchmark under \`nice -n ${nice}\`)`;
}

export interface ScaleRun {
  date: string;
  /** the checkout measured (absent in older runs) */
  commit?: string;
  cores: number;
  /** the benchmark's nice value (absent in older runs, which all ran under nice -n 19) */
  nice?: number;
  bun: string;
  k: number;
  m: number;
  efConstruction: number;
  ef: number;
  runs: number;
  repeat: number;
  concurrency: number;
  batch: number;
  settleS: number;
  mixture: { dimension: number; centres: number; seed: number };
  points: PointResult[];
  minutes: number;
}

const alvdBuild = (p: PointResult) => p.buildS.alvdInsert + p.buildS.alvdIndex;
const perVector = (bytes: number, p: PointResult) => bytes / p.n;
const bytes = (b: number) => `${fmt.int(b)} B`;

/** log-log slope between two points: how a figure scales with N (1 = linear) */
function slope(n1: number, v1: number, n2: number, v2: number): number {
  return Math.log(v2 / v1) / Math.log(n2 / n1);
}

/** the synthetic points, smallest first: the ones that form a curve in N */
const curve = (run: ScaleRun) => run.points.filter((p) => p.source === "synthetic").sort((a, b) => a.n - b.n);

function growthTable(run: ScaleRun): string {
  const pts = curve(run);
  if (pts.length < 2) return "";
  const first = pts[0]!;
  const last = pts.at(-1)!;
  const metrics: [string, (p: PointResult) => number, (v: number) => string][] = [
    ["build time, addon (add on every core)", (p) => p.buildS.addon, fmt.s],
    ["build time, alvd (MultiInsert + CreateIndex)", alvdBuild, fmt.s],
    ["CPU µs/query, addon (1 thread)", (p) => p.search.addon.cpuUs, fmt.int],
    ["CPU µs/query, alvd", (p) => p.search.alvd.cpuUs, fmt.int],
    ["QPS, addon (1 thread)", (p) => p.search.addon.qps, fmt.int],
    [`QPS, addon (${run.concurrency} in flight)`, (p) => p.search.addonMt.qps, fmt.int],
    [`QPS, alvd (${run.concurrency} in flight)`, (p) => p.search.alvd.qps, fmt.int],
    ["RSS/vector, addon", (p) => perVector(p.rss.addon, p), bytes],
    ["RSS/vector, alvd", (p) => perVector(p.rss.alvd, p), bytes],
    ["recall@10, addon", (p) => p.search.addon.recall, (v) => fmt.f(v, 4)],
    ["recall@10, alvd", (p) => p.search.alvd.recall, (v) => fmt.f(v, 4)],
  ];
  const rows = metrics.map(([name, get, show]) => {
    const cells = pts.map((p) => show(get(p)));
    const ratio = get(last) / get(first);
    return [name, ...cells, `${ratio.toFixed(2)}×`, fmt.f(slope(first.n, get(first), last.n, get(last)), 2)];
  });
  return table(["figure", ...pts.map((p) => compact(p.n)), `${compact(last.n)} / ${compact(first.n)}`, "log-log slope"], rows);
}

export function scaleReport(run: ScaleRun, svgFile: string): string {
  const pts = run.points;
  const label = (p: PointResult) => p.label;
  const searchRows = pts.map((p) => {
    const s = p.search;
    return [
      label(p),
      fmt.f(s.usearch.recall, 4),
      fmt.f(s.addon.recall, 4),
      fmt.f(s.alvd.recall, 4),
      fmt.int(s.usearch.qps),
      fmt.int(s.addon.qps),
      fmt.int(s.addonMt.qps),
      fmt.int(s.alvd.qps),
      fmt.ratio(s.alvd.qps, s.addonMt.qps),
      fmt.ms(s.alvd.p50),
      fmt.ms(s.alvd.p99),
    ];
  });
  const cpuRows = pts.map((p) => {
    const s = p.search;
    return [label(p), fmt.int(s.usearch.cpuUs), fmt.int(s.addon.cpuUs), fmt.int(s.alvd.cpuUs), fmt.ratio(s.alvd.cpuUs, s.addon.cpuUs)];
  });
  const buildRows = pts.map((p) => [
    label(p),
    fmt.s(p.buildS.usearch),
    fmt.s(p.buildS.addon),
    fmt.s(p.buildS.alvdInsert),
    fmt.s(p.buildS.alvdIndex),
    fmt.s(alvdBuild(p)),
    fmt.ratio(alvdBuild(p), p.buildS.addon),
    fmt.int((alvdBuild(p) * 1e6) / p.n),
    p.load ? `${fmt.f(p.load[0], 1)} → ${fmt.f(p.load[1], 1)}` : "–",
  ]);
  const memRows = pts.map((p) => [
    label(p),
    bytes(p.d * 4),
    bytes(perVector(p.rss.usearch, p)),
    bytes(perVector(p.rss.addon, p)),
    bytes(perVector(p.addonIndexBytes, p)),
    bytes(perVector(p.rss.alvd, p)),
    fmt.ratio(p.rss.alvd, p.rss.addon),
    bytes(perVector(p.rss.alvdSettled, p)),
    bytes(perVector(p.rss.alvdPeak, p)),
    `${fmt.f(p.rss.alvd / 2 ** 30, 2)} GiB`,
  ]);
  const growth = growthTable(run);
  const date = run.date.slice(0, 16).replace("T", " ");
  return [
    `## Scale: raw index vs \`alvd agent\` as N grows (\`bun run bench scale\`)`,
    "",
    `Run ${date} UTC${run.commit ? ` at ${run.commit}` : ""}, ${run.cores} cores${niceNote(run)}, bun ${run.bun}, ${run.minutes.toFixed(0)} min. ` +
      `Plot: [\`bench/${svgFile}\`](${svgFile}).`,
    "",
    `- Data: synthetic ${run.mixture.dimension}-d float32, a Gaussian mixture of ${run.mixture.centres} centres with unequal weights and spreads ` +
      `(seed ${run.mixture.seed}, \`bench/lib/synthetic.ts\`; every row comes from its own seed, so the set is generated in chunks and never held whole ` +
      `in the benchmark), queries drawn from the same mixture (not base rows); and Fashion-MNIST (784-d, Debian \`dataset-fashion-mnist\`, the first test images as queries).`,
    `- Exact neighbours for recall@${run.k}: a linear scan (the addon's \`exactSearch\` on the f32 index, spot-checked against a plain-JS scan; Fashion-MNIST: ` +
      "plain JS), cached in `bench/.cache/`.",
    `- Index: HNSW M=${run.m}, efConstruction=${run.efConstruction}, ef=${run.ef}, l2, **f32** everywhere (the 1M point fits: no f16/int8 needed).`,
    `- raw: the npm prebuilt \`usearch\` and our addon in the benchmark process. Build = \`add\` on ${run.cores} threads. Search single-threaded (CPU µs/query from ` +
      `this process), and our addon's \`searchAsync\` with ${run.concurrency} in flight (native worker threads: the raw index using the whole box).`,
    `- alvd: \`alvd agent\` as a child process with \`--index-path\` (write-ahead log on). Build = MultiInsert of pre-encoded batches of ${run.batch} ` +
      `(2 in flight) + CreateIndex. Search = unary \`Search\` from a C-core client (python3-grpcio, pre-encoded requests, ${run.concurrency} in flight, its ` +
      "own CPU not counted); CPU µs/query = all the agent process's CPU (from /proc) per query.",
    `- Memory per vector: RSS growth of the benchmark process while a raw index is built (rows generated into one reused buffer, a full GC before each ` +
      `reading), against the agent's RSS growth over ingest + CreateIndex, again ${run.settleS} s later, and its peak. \`memoryUsage\` is what the addon says it holds.`,
    `- Builds run once per point; search figures are medians of ${run.runs} run(s) of ${pts[0]?.queries ?? "?"} queries × ${run.repeat}, raw and alvd alternating.`,
    `- Reading: a build is one measurement on a shared ${run.cores}-core box, so its ratio carries whatever else ran at that moment (see the load ` +
      "column): only large build ratios mean something. Recall at one fixed ef falls with N on this data (a high intrinsic dimension, by design: see " +
      "`bench/lib/synthetic.ts`); compare alvd with raw at the same N, not recall across N.",
    "",
    `### Search (ef ${run.ef}, k ${run.k})`,
    "",
    table(
      ["point", "recall usearch", "recall addon", "recall alvd", "QPS usearch 1 thr", "QPS addon 1 thr", `QPS addon ${run.concurrency} in flight`, `QPS alvd ${run.concurrency} in flight`, "alvd / addon (same in flight)", "alvd p50", "alvd p99"],
      searchRows,
    ),
    "",
    "CPU per query (all threads of the process doing the search):",
    "",
    table(["point", "usearch 1 thr", "addon 1 thr", "alvd agent", "alvd / addon"], cpuRows),
    "",
    "### Build",
    "",
    table(["point", "usearch add", "addon add", "alvd MultiInsert", "alvd CreateIndex", "alvd total", "alvd / addon", "alvd µs/vector", "load average (start → end)"], buildRows),
    "",
    "### Memory per vector",
    "",
    table(["point", "raw vector (d × 4 B)", "usearch RSS", "addon RSS", "addon memoryUsage", "alvd RSS", "alvd / addon", `alvd after ${run.settleS} s`, "alvd peak", "alvd RSS total"], memRows),
    "",
    ...(growth
      ? [
          "### Growth with N (synthetic points)",
          "",
          "The log-log slope says how a figure scales with N between the smallest and the largest point: 0 = flat, 1 = linear in N.",
          "",
          growth,
          "",
        ]
      : []),
    `![scale curve](${svgFile})`,
    "",
  ].join("\n");
}

const COLORS = { usearch: "#7f7f7f", addon: "#1f77b4", addonMt: "#17becf", alvd: "#d62728", raw: "#2ca02c", cpu: "#9467bd", build: "#8c564b", mem: "#e377c2" };

export function scaleSvg(run: ScaleRun): string {
  const pts = curve(run);
  const s = (name: string, color: string, get: (p: PointResult) => number, dash?: string): Series => ({ name, color, dash, points: pts.map((p) => [p.n, get(p)]) });
  const usearch = "usearch (npm prebuilt)";
  const addon = "our addon";
  const addonMt = `our addon, ${run.concurrency} in flight (searchAsync)`;
  const alvd = "alvd agent";
  const x = { xLabel: "vectors (N, log scale)", xLog: true };
  const panels: Panel[] = [
    {
      title: `Search QPS (raw: 1 thread; alvd: ${run.concurrency} in flight)`,
      yLabel: "queries / s (log)",
      yLog: true,
      ...x,
      series: [
        s(usearch, COLORS.usearch, (p) => p.search.usearch.qps, "6 4"),
        s(addon, COLORS.addon, (p) => p.search.addon.qps),
        s(addonMt, COLORS.addonMt, (p) => p.search.addonMt.qps, "3 3"),
        s(alvd, COLORS.alvd, (p) => p.search.alvd.qps),
      ],
    },
    {
      title: "CPU per query (all threads)",
      yLabel: "CPU µs / query (log)",
      yLog: true,
      ...x,
      series: [s(usearch, COLORS.usearch, (p) => p.search.usearch.cpuUs, "6 4"), s(addon, COLORS.addon, (p) => p.search.addon.cpuUs), s(alvd, COLORS.alvd, (p) => p.search.alvd.cpuUs)],
    },
    {
      title: `Recall@${run.k} at ef ${run.ef}`,
      yLabel: `recall@${run.k}`,
      ...x,
      series: [s(usearch, COLORS.usearch, (p) => p.search.usearch.recall, "6 4"), s(addon, COLORS.addon, (p) => p.search.addon.recall), s(alvd, COLORS.alvd, (p) => p.search.alvd.recall)],
    },
    {
      title: `Build time (${run.cores} threads)`,
      yLabel: "seconds (log)",
      yLog: true,
      ...x,
      series: [s(usearch, COLORS.usearch, (p) => p.buildS.usearch, "6 4"), s(addon, COLORS.addon, (p) => p.buildS.addon), s(alvd, COLORS.alvd, alvdBuild)],
    },
    {
      title: "Memory per vector (RSS growth)",
      yLabel: "bytes / vector",
      yZero: true,
      ...x,
      series: [
        s(`raw vector (${run.mixture.dimension} × 4 B)`, COLORS.raw, (p) => p.d * 4, "2 3"),
        s(usearch, COLORS.usearch, (p) => p.rss.usearch / p.n, "6 4"),
        s(addon, COLORS.addon, (p) => p.rss.addon / p.n),
        s(alvd, COLORS.alvd, (p) => p.rss.alvd / p.n),
      ],
    },
    {
      title: "alvd over our addon",
      yLabel: "alvd / addon",
      yZero: true,
      hLine: { y: 1, label: "1 = same as raw" },
      ...x,
      series: [
        s("ratio: CPU per query", COLORS.cpu, (p) => p.search.alvd.cpuUs / p.search.addon.cpuUs),
        s("ratio: build time", COLORS.build, (p) => alvdBuild(p) / p.buildS.addon),
        s("ratio: memory per vector", COLORS.mem, (p) => p.rss.alvd / p.rss.addon),
      ],
    },
  ];
  return chartsSvg(panels, {
    title: `alvd scale curve: synthetic ${run.mixture.dimension}-d, ${pts.map((p) => compact(p.n)).join(" → ")} vectors`,
    subtitle: `HNSW M=${run.m}, efC=${run.efConstruction}, ef=${run.ef}, f32, l2; alvd build = MultiInsert + CreateIndex; ${run.cores} cores; ${run.date.slice(0, 10)} (bun run bench scale)`,
    columns: 3,
    panelWidth: 420,
    panelHeight: 290,
    formatY: (v) => (Math.abs(v) < 1 && v !== 0 ? String(Number(v.toPrecision(3))) : compact(v)),
  });
}
