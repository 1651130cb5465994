// The web console in a real browser against the compiled binary, copied alone into an
// empty directory: a server with its embedded agent and one tunnelled agent (2 agents),
// driven by Debian's chromium at 1280×800 and 390×844. The console shows both agents,
// runs searches (a click on a neighbour searches by its id), inserts a vector and finds
// it, triggers CreateIndex and draws its charts; a second server with TLS and API keys
// serves it over HTTPS (HTTP/2), where a wrong key shows UNAUTHENTICATED and a read-only
// key sees the writes it may not make. The browser reports no error anywhere, and no
// page is wider than the screen. Screenshots land in test/console/screenshots/.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";
import { Index } from "../../src/gen/vald/v1/index_pb";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { isolatedCopy, releaseBinary, start, stop, waitHttp, type BuildInfo, type Proc } from "../dist/binary";
import { makePki } from "../lib/certs";
import { vectors } from "../lib/cluster";
import { freePorts } from "../lib/ports";
import { CHROMIUM, launch, openPage, type Watched } from "./browser";

setDefaultTimeout(60_000);

const DIM = 8;
const WIDE = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const RW = "console-rw-key-0123456789abcdef";
const RO = "console-ro-key-0123456789abcdef";
const PAGES = ["cluster", "metrics", "search", "data", "index", "repair"];

let info: BuildInfo;
let box: ReturnType<typeof isolatedCopy>;
let browser: Browser;
const procs: Proc[] = [];
const watched: Watched[] = [];

interface Cluster {
  base: string;
  grpcPort: number;
  server: Proc;
}

async function startCluster(opts: { agent?: string; extra?: string[]; env?: Record<string, string>; ca?: string } = {}): Promise<Cluster> {
  const [grpcPort, wsPort, metricsPort, embeddedPort, agentPort, agentMetrics] = await freePorts(6);
  const env = { ...box.env, ...opts.env };
  const common = ["--dimension", `${DIM}`, ...(opts.extra ?? [])];
  const server = start(
    box.exe,
    ["server", "--server-grpc-host", "127.0.0.1", "--server-grpc-port", `${grpcPort}`, "--server", `127.0.0.1:${wsPort}`,
      "--metrics-host", "127.0.0.1", "--metrics-port", `${metricsPort}`, "--grpc-host", "127.0.0.1", "--grpc-port", `${embeddedPort}`,
      "--replicas", "2", ...common],
    { cwd: box.dir, env },
  );
  procs.push(server);
  await waitHttp(metricsPort!, "/readyz", 20_000, 20, server, opts.ca);
  if (opts.agent) {
    const agent = start(
      box.exe,
      ["agent", "--server", `127.0.0.1:${wsPort}`, "--name", opts.agent, "--grpc-host", "127.0.0.1", "--grpc-port", `${agentPort}`,
        "--metrics-host", "127.0.0.1", "--metrics-port", `${agentMetrics}`, ...common],
      { cwd: box.dir, env },
    );
    procs.push(agent);
    await waitHttp(agentMetrics!, "/readyz", 20_000, 20, agent, opts.ca);
    while (!server.output().includes(`agent=${opts.agent}`)) await Bun.sleep(20);
  }
  return { base: `${opts.ca ? "https://localhost" : "http://127.0.0.1"}:${grpcPort}`, grpcPort: grpcPort!, server };
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/** the figure of the card with this label */
const card = (w: Watched, label: string) => w.page.locator(".card").filter({ has: w.page.locator(".label", { hasText: new RegExp(`^${label}$`) }) }).locator(".value");

async function watch(viewport: { width: number; height: number }, https = false): Promise<Watched> {
  const w = await openPage(browser, viewport, { https });
  watched.push(w);
  return w;
}

/** nothing sticks out sideways: the page fits the screen it is shown on */
async function fitsWidth(w: Watched): Promise<void> {
  const width = await w.page.evaluate<number>("document.documentElement.scrollWidth");
  expect(width, `${w.page.url()} is ${width}px wide`).toBeLessThanOrEqual(w.page.viewportSize()!.width);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  info = await releaseBinary();
  box = isolatedCopy(info.binary);
  browser = await launch();
}, 15 * 60_000);

afterAll(async () => {
  for (const w of watched) await w.close().catch(() => undefined);
  await browser?.close();
  for (const p of procs) await stop(p, 5_000);
  box?.cleanup();
});

describe("console on a 2-agent cluster (compiled binary)", () => {
  let c: Cluster;
  const data = vectors(300, DIM, 13);

  beforeAll(async () => {
    c = await startCluster({ agent: "console-agent", extra: ["--check-index-interval", "1h", "--create-index-threshold", "100000"] });
    const insert = createClient(Insert, createConnectTransport({ baseUrl: c.base, httpVersion: "1.1" }));
    await insert.multiInsert({ requests: data.map((d) => ({ vector: { id: d.id, vector: d.vector }, config: {} })) });
  });

  test("the server serves the page and its files: types, compression, caching, no framing", async () => {
    const page = await fetch(`${c.base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("cache-control")).toBe("no-cache");
    expect(page.headers.get("content-security-policy")).toContain("connect-src 'self'");
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    const html = await page.text();
    expect(await (await fetch(`${c.base}/console`)).text()).toBe(html);
    const js = /src="(\/console\/app\.js\?v=[0-9a-z]+)"/.exec(html)![1]!;
    const css = /href="(\/console\/app\.css\?v=[0-9a-z]+)"/.exec(html)![1]!;
    // raw sockets: fetch would undo the gzip and hide what crossed the wire
    const raw = async (path: string, headers: Record<string, string>) => {
      const r = await fetch(`${c.base}${path}`, { headers, decompress: false });
      return { status: r.status, headers: r.headers, bytes: new Uint8Array(await r.arrayBuffer()) };
    };
    const gz = await raw(js, { "accept-encoding": "gzip" });
    expect(gz.status).toBe(200);
    expect(gz.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(gz.headers.get("content-encoding")).toBe("gzip");
    expect(gz.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const plain = await raw(js, {});
    expect(plain.headers.get("content-encoding")).toBeNull();
    expect(new TextDecoder().decode(Bun.gunzipSync(gz.bytes))).toBe(new TextDecoder().decode(plain.bytes));
    const etag = gz.headers.get("etag")!;
    expect((await raw(js, { "if-none-match": etag })).status).toBe(304);
    expect((await raw(css, {})).headers.get("content-type")).toBe("text/css; charset=utf-8");
    // without the version the link carries, a file is revalidated rather than kept
    expect((await raw("/console/app.js", {})).headers.get("cache-control")).toBe("no-cache");
    expect((await raw("/console/nothing-here", {})).status).toBe(404);
    const sizes = [js, css].map((p) => p.split("?")[0]);
    console.log(`console assets: page ${html.length} B, ${sizes[0]} ${plain.bytes.length} B (${gz.bytes.length} B gzipped), ${sizes[1]} ${(await raw(css, { "accept-encoding": "gzip" })).bytes.length} B gzipped`);
  });

  test("cluster: both agents with their counts, memory, SIMD and heartbeat, live", async () => {
    const w = await watch(WIDE);
    await w.page.goto(`${c.base}/console`);
    const rows = w.page.locator("table.agents tbody tr");
    await rows.filter({ hasText: "console-agent" }).waitFor();
    expect(await rows.count()).toBe(2);
    const remote = rows.filter({ hasText: "console-agent" });
    // --replicas 2 on 2 agents: each holds all 300, uncommitted (no index build yet)
    await w.page.locator("table.agents tbody tr td[data-label='Uncommitted']").nth(1).waitFor();
    for (const row of await rows.all()) {
      const cell = async (label: string) => (await row.locator(`td[data-label='${label}']`).innerText()).trim();
      expect(await cell("State")).toContain("connected");
      expect(await cell("Uncommitted")).toBe("300");
      expect(await cell("Memory")).toMatch(/index/);
      expect(await cell("SIMD")).toMatch(/\((auto|plain)\)/);
      expect(await cell("Uptime")).toMatch(/\d+ s/);
    }
    expect(await remote.locator("td[data-label='Heartbeat']").innerText()).toMatch(/s ago/);
    expect(await card(w, "Agents").innerText()).toBe("2 / 2");
    // live: the agents' uptimes are re-read every two seconds
    const uptime = remote.locator("td[data-label='Uptime']");
    const before = await uptime.innerText();
    await until(async () => (await uptime.innerText()) !== before, "the uptime to change");
    await fitsWidth(w);
    await w.shot("cluster");
  });

  test("search: a random vector finds neighbours; clicking one searches by its id", async () => {
    const w = await watch(WIDE);
    await w.page.goto(`${c.base}/console#/search`);
    await w.page.getByRole("button", { name: "Search", exact: true }).click();
    const hits = w.page.locator("table.neighbours tbody tr");
    await hits.first().waitFor();
    expect(await hits.count()).toBe(10);
    const id = (await hits.nth(3).locator("button").innerText()).trim();
    expect(data.some((d) => d.id === id)).toBe(true);
    await hits.nth(3).locator("button").click();
    await w.page.getByText(`vald.v1.Search/SearchByID id="${id}"`).waitFor();
    await until(async () => (await hits.first().locator("td[data-label='Id']").innerText()) === id, `${id} first`);
    expect(await hits.first().locator("td[data-label='Distance']").innerText()).toBe("0.000000");
    await fitsWidth(w);
    await w.shot("search");
  });

  test("data: insert a vector, then find it by searching with the same vector", async () => {
    const w = await watch(WIDE);
    await w.page.goto(`${c.base}/console#/data`);
    const vector = [0.91, 0.12, 0.33, 0.44, 0.05, 0.66, 0.27, 0.88];
    await w.page.getByLabel("Id").first().fill("from-the-browser");
    await w.page.getByLabel("Vector").fill(JSON.stringify(vector));
    await w.page.getByRole("button", { name: "Insert", exact: true }).click();
    await w.page.getByText('inserted "from-the-browser"').waitFor();
    await w.page.getByRole("button", { name: "Get", exact: true }).click();
    await w.page.getByText(/"from-the-browser": 8 values/).waitFor();
    await w.page.getByRole("button", { name: "List the first 20" }).click();
    await w.page.getByText("20 vectors").waitFor();
    await w.shot("data");

    await w.page.goto(`${c.base}/console#/search`);
    await w.page.getByRole("tab", { name: "Paste vector" }).click();
    await w.page.getByLabel("Vector").fill(vector.join(", "));
    await w.page.getByRole("button", { name: "Search", exact: true }).click();
    const first = w.page.locator("table.neighbours tbody tr").first();
    await first.waitFor();
    expect(await first.locator("td[data-label='Id']").innerText()).toBe("from-the-browser");
    expect(await first.locator("td[data-label='Distance']").innerText()).toBe("0.000000");
    await fitsWidth(w);
  });

  test("index: CreateIndex links every uncommitted vector", async () => {
    const w = await watch(WIDE);
    await w.page.goto(`${c.base}/console#/index`);
    const uncommitted = card(w, "Uncommitted");
    await uncommitted.waitFor();
    expect(Number((await uncommitted.innerText()).replace(/,/g, ""))).toBeGreaterThan(0);
    await w.page.getByRole("button", { name: "CreateIndex", exact: true }).click();
    await w.page.getByText("CreateIndex done on every agent").waitFor({ timeout: 30_000 });
    await until(async () => (await uncommitted.innerText()) === "0", "0 uncommitted");
    const counts = await createClient(Index, createConnectTransport({ baseUrl: c.base, httpVersion: "1.1" })).indexInfo({});
    expect(counts.uncommitted).toBe(0);
    expect(counts.stored).toBe(2 * 301);
    // Flush asks for its word first
    expect(await w.page.getByRole("button", { name: "Flush" }).isDisabled()).toBe(true);
    await fitsWidth(w);
    await w.shot("index");
  });

  test("metrics and repair: charts from the server's counters, replication state", async () => {
    const w = await watch(WIDE);
    await w.page.goto(`${c.base}/console#/metrics`);
    // the searches and inserts above are in the server's windows
    await w.page.locator(".chart path.line").first().waitFor();
    await w.page.getByRole("cell", { name: "Admin" }).first().waitFor();
    const legend = await w.page.locator(".legend").first().innerText();
    expect(legend).toContain("Search");
    expect(legend).toContain("Insert");
    await fitsWidth(w);
    await w.shot("metrics");
    await w.page.goto(`${c.base}/console#/repair`);
    await w.page.getByText("None: every id has its copies").waitFor();
    expect(await card(w, "Target copies").innerText()).toBe("2");
    await fitsWidth(w);
    await w.shot("repair");
  });

  test("a phone's screen (390×844): every page fits", async () => {
    const w = await watch(PHONE);
    for (const name of PAGES) {
      await w.page.goto(`${c.base}/console#/${name}`);
      await w.page.locator("main .page").waitFor();
      await w.page.waitForTimeout(name === "metrics" ? 600 : 300);
      if (name === "search") {
        await w.page.getByRole("button", { name: "Search", exact: true }).click();
        await w.page.locator("table.neighbours").waitFor();
      }
      if (name === "cluster") await w.page.locator("table.agents tbody tr").nth(1).waitFor();
      await fitsWidth(w);
      await w.shot(name);
    }
  });
});

describe("console with TLS and API keys (compiled binary)", () => {
  let c: Cluster;

  beforeAll(async () => {
    const pki = makePki();
    const cert = pki.issue("console-server", "localhost");
    c = await startCluster({
      extra: ["--tls-cert-file", cert.certFile, "--tls-key-file", cert.keyFile],
      env: { ALVD_TOKEN: "console-token", ALVD_API_KEY: RW, ALVD_READ_ONLY_API_KEY: RO },
      ca: pki.ca,
    });
  });

  test("asks for a key; a wrong key shows UNAUTHENTICATED; a read-only key sees what it may not do", async () => {
    const w = await watch(WIDE, true);
    await w.page.goto(`${c.base}/`);
    // the same TLS port serves the page, over HTTP/2
    expect(await w.page.evaluate<string>(`performance.getEntriesByType("navigation")[0].nextHopProtocol`)).toBe("h2");
    const key = w.page.getByLabel("API key");
    await key.waitFor();
    await w.shot("key");
    await key.fill("not-a-key-we-know");
    await w.page.getByRole("button", { name: "Use key" }).click();
    const refused = w.page.locator(".failed");
    await refused.waitFor();
    expect(await refused.innerText()).toMatch(/^UNAUTHENTICATED /);
    await w.shot("wrong-key");

    await key.fill(RO);
    await w.page.getByRole("button", { name: "Use key" }).click();
    await w.page.getByText("read-only key", { exact: true }).waitFor();
    await w.page.locator("table.agents tbody tr").first().waitFor();
    // the key stays in this tab only
    expect(await w.page.evaluate<string | null>(`sessionStorage.getItem("alvd.console.apiKey")`)).toBe(RO);
    expect(await w.page.evaluate<number>("localStorage.length")).toBe(0);
    await w.page.goto(`${c.base}/console#/index`);
    await w.page.getByText(/Read-only key: .* need a read-write key; the server answers PERMISSION_DENIED/).waitFor();
    expect(await w.page.getByRole("button", { name: "CreateIndex", exact: true }).isDisabled()).toBe(true);
    await w.shot("read-only");
    // reads work with it: a search by a random vector
    await w.page.goto(`${c.base}/console#/search`);
    await w.page.getByRole("button", { name: "Search", exact: true }).click();
    await w.page.locator(".done, .failed").first().waitFor();
    // nothing stored yet: the gateway's own answer, code and message, shows on the page
    expect(await w.page.locator(".failed").innerText()).toMatch(/^NOT_FOUND /);

    await w.page.getByRole("button", { name: "Change key" }).click();
    await key.fill(RW);
    await w.page.getByRole("button", { name: "Use key" }).click();
    await w.page.getByText("read-write key", { exact: true }).waitFor();
    await w.page.goto(`${c.base}/console#/index`);
    await w.page.getByRole("button", { name: "CreateIndex", exact: true }).click();
    await w.page.getByText("CreateIndex done on every agent").waitFor();
  });

  test("the page is public, the data is not: every call without a key is refused", async () => {
    const tls = { ca: undefined, rejectUnauthorized: false };
    const page = await fetch(`${c.base}/console`, { tls });
    expect(page.status).toBe(200);
    const status = await fetch(`${c.base}/alvd.cluster.v1.Admin/Status`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}", tls });
    expect(status.status).toBe(401);
  });
});

describe("--console=false", () => {
  test("serves no page", async () => {
    const c = await startCluster({ extra: ["--console=false"] });
    const r = await fetch(`${c.base}/`);
    expect(r.status).toBe(404);
    expect(await r.text()).not.toContain("<html");
    expect(c.server.output()).toContain("console=off");
  });
});

describe("the browser", () => {
  test("reported no error, warning or failed request on any page", () => {
    expect(watched.length).toBeGreaterThan(5);
    expect(watched.flatMap((w) => w.problems)).toEqual([]);
  });

  test("would have: the watch sees a console error and an HTTP error", async () => {
    const w = await openPage(browser, WIDE);
    try {
      await w.page.setContent("<p>probe</p>");
      await w.page.evaluate(`console.error("probe error")`);
      const { base } = await startCluster({});
      await w.page.goto(`${base}/console/no-such-file`);
      await until(async () => w.problems.length >= 2, "two problems seen");
      expect(w.problems.join("\n")).toContain("probe error");
      expect(w.problems.join("\n")).toContain("HTTP 404");
    } finally {
      await w.close();
    }
  });
});
