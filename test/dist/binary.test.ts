// The released linux-x64 binary works on its own: copied alone into an empty directory,
// with no node_modules, sources or repo paths in reach, it prints its build, validates
// flags, and serves a server + agent cluster that a stock Vald client can use.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { elfMachine, ROOT } from "../../build";
import { freePorts } from "../lib/ports";
import { type BuildInfo, isolatedCopy, type Proc, releaseBinary, start, stop, waitHttp } from "./binary";
import * as grpc from "@grpc/grpc-js";
import { makePki } from "../lib/certs";
import { exists, insert, search, valdClients } from "../lib/vald";
import { describeHugePages, hugePageMode } from "../../src/index/huge-pages";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Insert_MultiRequestSchema, Search_MultiRequestSchema, Search_ResponsesSchema } from "../../src/gen/payload/v1/payload_pb";
import { Agent } from "../../src/gen/core/v1/agent_pb";
import { gaussianVectors } from "../index/vectors";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { Object$ } from "../../src/gen/vald/v1/object_pb";
import { cLoad } from "../../bench/lib/cload";
import { GrpcJs, vectors } from "../agent/harness";

let info: BuildInfo;
let box: ReturnType<typeof isolatedCopy>;
const procs: Proc[] = [];

beforeAll(async () => {
  info = await releaseBinary();
  box = isolatedCopy(info.binary);
}, 15 * 60_000);

afterAll(async () => {
  for (const p of procs) await stop(p, 5_000);
  box?.cleanup();
});

function run(args: string[]) {
  return spawnSync(box.exe, args, { cwd: box.dir, env: box.env, encoding: "utf8", timeout: 30_000 });
}

describe("alvd binary", () => {
  test("is an x86-64 ELF within the size budget and not stripped into plain bun", () => {
    expect(elfMachine(box.exe)).toBe("x86-64");
    expect(info.bytes).toBeLessThan(115e6);
    // a stripped binary loses its payload and behaves like `bun`
    const r = run(["--help"]);
    expect(r.stdout).not.toContain("Bun is a fast JavaScript runtime");
  });

  test("version shows the version, commit and target", () => {
    const r = run(["version"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`alvd ${info.version}`);
    expect(r.stdout).toContain(info.commit);
    expect(r.stdout).toContain("linux-x64");
    expect(info.commit).toMatch(/^([0-9a-f]{7,}(\+dirty)?|unknown)$/);
  });

  test("--help lists the commands", () => {
    const r = run(["--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("alvd server");
    expect(r.stdout).toContain("alvd agent");
    const s = run(["server", "--help"]);
    expect(s.status).toBe(0);
    expect(s.stdout).toContain("--server-grpc-port");
    expect(s.stdout).toContain("ALVD_TOKEN");
  });

  test("a bad flag value exits non-zero naming the flag", () => {
    const r = run(["server", "--server-grpc-port", "abc"]);
    expect(r.status).not.toBe(0);
    expect(r.status).not.toBeNull();
    expect(r.stderr).toContain("server-grpc-port");
  });

  test("server + agent: insert and search through a Vald gRPC client, then exit 0 on SIGTERM", async () => {
    const [grpcPort, wsPort, metricsPort, embeddedPort, agentPort, agentMetrics] = await freePorts(6);
    const env = { ...box.env, ALVD_TOKEN: "dist-test-token", ALVD_LOG_LEVEL: "info" };
    const common = ["--dimension", "4", "--check-index-interval", "200ms", "--create-index-threshold", "1"];
    const server = start(
      box.exe,
      ["server", "--server-grpc-host", "127.0.0.1", "--server-grpc-port", `${grpcPort}`, "--server", `127.0.0.1:${wsPort}`,
        "--metrics-host", "127.0.0.1", "--metrics-port", `${metricsPort}`, "--grpc-host", "127.0.0.1", "--grpc-port", `${embeddedPort}`,
        "--replicas", "2", "--index-path", join(box.dir, "server-data"), ...common],
      { cwd: box.dir, env },
    );
    procs.push(server);
    await waitHttp(metricsPort!, "/readyz", 20_000, 20, server);
    const agent = start(
      box.exe,
      ["agent", "--server", `127.0.0.1:${wsPort}`, "--name", "dist-agent", "--grpc-host", "127.0.0.1", "--grpc-port", `${agentPort}`,
        "--metrics-host", "127.0.0.1", "--metrics-port", `${agentMetrics}`, "--index-path", join(box.dir, "agent-data"), ...common],
      { cwd: box.dir, env },
    );
    procs.push(agent);
    await waitHttp(agentMetrics!, "/readyz", 20_000, 20, agent);

    // the agent counts once the server has it in its pool (embedded + tunnelled = 2)
    const t0 = Date.now();
    let agents = 0;
    while (Date.now() - t0 < 20_000) {
      const m = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      agents = Number(/^alvd_gateway_agents (\d+)/m.exec(m)?.[1] ?? 0);
      if (agents >= 2) break;
      await Bun.sleep(50);
    }
    expect(agents, `server output:\n${server.output()}\nagent output:\n${agent.output()}`).toBe(2);

    // the image's HEALTHCHECK command, run against this server's metrics port
    const hc = JSON.parse(/HEALTHCHECK[\s\S]*?CMD (\[.*\])/.exec(readFileSync(join(ROOT, "Dockerfile"), "utf8"))![1]!) as string[];
    expect(await Bun.spawn(hc, { env: { PATH: "/usr/bin:/bin", ALVD_METRICS_PORT: `${metricsPort}` }, timeout: 10_000 }).exited).toBe(0);

    const gw = valdClients(`127.0.0.1:${grpcPort}`);
    const direct = valdClients(`127.0.0.1:${agentPort}`);
    try {
      const vec = (i: number) => [i, i * 0.5, -i, 1 + (i % 3)];
      for (let i = 0; i < 20; i++) await insert(gw, `v${i}`, vec(i));
      const hits = await search(gw, vec(7), 3);
      expect(hits[0]?.id).toBe("v7");
      expect(hits[0]?.distance).toBeCloseTo(0, 5);
      expect(hits.length).toBe(3);
      // --replicas 2 with two agents: the tunnelled agent holds every vector
      expect(await exists(direct, "v7")).toBe(true);
      expect(await exists(gw, "nope")).toBe(false);
      // the addon embedded in the binary asks for huge pages too: its first arenas (8 MiB)
      // land on them once the agent's index is built, where the host grants them
      const mode = hugePageMode();
      expect(agent.output()).toContain(`hugePages="${describeHugePages(mode)}"`);
      if (mode === "madvise" || mode === "always") {
        const huge = () => Number(/AnonHugePages:\s+(\d+) kB/.exec(readFileSync(`/proc/${agent.pid}/smaps_rollup`, "utf8"))?.[1] ?? 0);
        for (const end = Date.now() + 10_000; huge() < 2048 && Date.now() < end; ) await Bun.sleep(50);
        expect(huge()).toBeGreaterThanOrEqual(2048);
      }
    } finally {
      gw.close();
      direct.close();
    }

    expect(await stop(agent)).toBe(0);
    expect(await stop(server)).toBe(0);
    // nothing in the logs hints at the build machine's files being needed
    expect(server.output() + agent.output()).not.toContain("/work/main/node_modules");

    // recovery in the binary: the agent's newest snapshot is damaged, so it loads the one
    // before (the empty start) and replays its log; every vector is still there
    const data = join(box.dir, "agent-data");
    const graph = join(data, "index-1.usearch");
    const bytes = readFileSync(graph);
    bytes[bytes.length >> 1]! ^= 0x10;
    writeFileSync(graph, bytes);
    const [againPort, againMetrics] = await freePorts(2);
    const again = start(
      box.exe,
      ["agent", "--server", "", "--name", "dist-agent", "--grpc-host", "127.0.0.1", "--grpc-port", `${againPort}`,
        "--metrics-host", "127.0.0.1", "--metrics-port", `${againMetrics}`, "--index-path", data, "--dimension", "4"],
      { cwd: box.dir, env },
    );
    procs.push(again);
    await waitHttp(againMetrics!, "/readyz", 20_000, 20, again);
    const recovered = valdClients(`127.0.0.1:${againPort}`);
    try {
      for (let i = 0; i < 20; i++) expect(await exists(recovered, `v${i}`)).toBe(true);
      expect((await search(recovered, [7, 3.5, -7, 2], 1))[0]?.id).toBe("v7");
    } finally {
      recovered.close();
    }
    expect(again.output()).toContain("generation 1 is damaged");
    expect(readdirSync(join(data, "broken")).length).toBe(1);
    expect(await stop(again)).toBe(0);
  }, 90_000);

  test("TLS and keys: the gateway over TLS, the agent joined over wss://, a Vald client with a key", async () => {
    const pki = makePki();
    try {
      const cert = pki.issue("dist-server", "localhost");
      const [grpcPort, wsPort, metricsPort, embeddedPort, agentPort, agentMetrics] = await freePorts(6);
      const env = { ...box.env, ALVD_TOKEN: "dist-tls-token", ALVD_API_KEY: "dist-rw-key-0123456789", ALVD_READ_ONLY_API_KEY: "dist-ro-key-0123456789" };
      const tls = ["--tls-cert-file", cert.certFile, "--tls-key-file", cert.keyFile, "--dimension", "4"];
      const server = start(
        box.exe,
        ["server", "--server-grpc-host", "127.0.0.1", "--server-grpc-port", `${grpcPort}`, "--server", `127.0.0.1:${wsPort}`,
          "--metrics-host", "127.0.0.1", "--metrics-port", `${metricsPort}`, "--grpc-host", "127.0.0.1", "--grpc-port", `${embeddedPort}`,
          "--replicas", "2", ...tls],
        { cwd: box.dir, env },
      );
      procs.push(server);
      await waitHttp(metricsPort!, "/readyz", 20_000, 20, server, pki.ca);
      const agent = start(
        box.exe,
        ["agent", "--server", `127.0.0.1:${wsPort}`, "--tls-ca-file", pki.caFile, "--name", "dist-wss-agent", "--grpc-host", "127.0.0.1",
          "--grpc-port", `${agentPort}`, "--metrics-host", "127.0.0.1", "--metrics-port", `${agentMetrics}`, ...tls],
        { cwd: box.dir, env },
      );
      procs.push(agent);
      await waitHttp(agentMetrics!, "/readyz", 20_000, 20, agent, pki.ca);
      while (!/agent connected .*agent=dist-wss-agent/.test(server.output())) await Bun.sleep(20);

      const creds = grpc.credentials.createSsl(Buffer.from(pki.ca));
      const rw = valdClients(`localhost:${grpcPort}`, { creds, apiKey: "dist-rw-key-0123456789" });
      const ro = valdClients(`localhost:${agentPort}`, { creds, apiKey: "dist-ro-key-0123456789" });
      const anon = valdClients(`localhost:${grpcPort}`, { creds });
      try {
        for (let i = 0; i < 5; i++) await insert(rw, `t${i}`, [i, 1, 0, 0]);
        // --replicas 2: the vectors crossed the wss tunnel; the agent's TLS port serves the read-only key
        expect((await search(ro, [3, 1, 0, 0], 1))[0]?.id).toBe("t3");
        const denied = await insert(ro, "t9", [9, 1, 0, 0]).catch((e: grpc.ServiceError) => e);
        expect((denied as grpc.ServiceError).code).toBe(grpc.status.PERMISSION_DENIED);
        const refused = await search(anon, [3, 1, 0, 0], 1).catch((e: grpc.ServiceError) => e);
        expect((refused as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
      } finally {
        rw.close();
        ro.close();
        anon.close();
      }
      expect(await stop(agent)).toBe(0);
      expect(await stop(server)).toBe(0);
      expect(server.output() + agent.output()).not.toContain("dist-rw-key-0123456789");
    } finally {
      pki.cleanup();
    }
  }, 90_000);
  // The write path of a server alone: its embedded agent is its only agent, so the gateway
  // decodes write vectors straight into that agent's staging arena, and the HTTP/2 windows
  // must let a body larger than one window (16 MiB) through. C-core sends, grpc-js reads.
  test("server alone: a C-core MultiInsert larger than the HTTP/2 window lands exact, and survives kill -9", async () => {
    const DIM = 784;
    const vecs = vectors(6_000, DIM, 33);
    const body = toBinary(Insert_MultiRequestSchema, create(Insert_MultiRequestSchema, { requests: vecs.map((vector, i) => ({ vector: { id: `w${i}`, vector } })) }));
    expect(body.byteLength).toBeGreaterThan(16 * 1024 * 1024);
    const data = join(box.dir, "alone-data");
    const boot = async () => {
      const [grpcPort, wsPort, metricsPort, embeddedPort] = await freePorts(4);
      const server = start(
        box.exe,
        ["server", "--server-grpc-host", "127.0.0.1", "--server-grpc-port", `${grpcPort}`, "--server", `127.0.0.1:${wsPort}`,
          "--metrics-host", "127.0.0.1", "--metrics-port", `${metricsPort}`, "--grpc-host", "127.0.0.1", "--grpc-port", `${embeddedPort}`,
          "--index-path", data, "--dimension", `${DIM}`, "--create-index-threshold", "0", "--max-message-size", "64MiB"],
        { cwd: box.dir, env: box.env },
      );
      procs.push(server);
      await waitHttp(metricsPort!, "/readyz", 20_000, 20, server);
      return { server, target: `127.0.0.1:${grpcPort}` };
    };
    const readBack = async (target: string) => {
      const rpc = new GrpcJs(target);
      try {
        for (const i of [0, 1, 2_999, 5_998, 5_999]) expect((await rpc.unary(Object$.method.getObject, { id: { id: `w${i}` } })).vector).toEqual(vecs[i]!);
      } finally {
        rpc.close();
      }
    };
    const first = await boot();
    expect((await cLoad(first.target, "/vald.v1.Insert/MultiInsert", [body], { concurrency: 1 })).responses.length).toBe(1);
    await readBack(first.target);
    const rpc = new GrpcJs(first.target);
    try {
      const wrong = await rpc.unary(Insert.method.insert, { vector: { id: "short", vector: [1, 2, 3] } }).catch((e: grpc.ServiceError) => e);
      expect((wrong as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
      // a refused write between two good ones: each good one keeps its own vector
      await rpc.unary(Insert.method.insert, { vector: { id: "after", vector: vecs[7]! } });
    } finally {
      rpc.close();
    }
    first.server.kill("SIGKILL");
    await first.server.exited;
    const second = await boot();
    await readBack(second.target);
    const again = new GrpcJs(second.target);
    try {
      expect((await again.unary(Object$.method.getObject, { id: { id: "after" } })).vector).toEqual(vecs[7]!);
      const gone = await again.unary(Object$.method.getObject, { id: { id: "short" } }).catch((e: grpc.ServiceError) => e);
      expect((gone as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
    } finally {
      again.close();
    }
    expect(await stop(second.server)).toBe(0);
  }, 120_000);

  test("server alone: after CreateIndex a C-core client finds every vector by its own value, on a graph that strands some", async () => {
    // Gaussian 96-d at --creation-edge-size 8 leaves dozens of vectors no HNSW search
    // reaches (native/reachability.hpp); the binary's index links them again or scans them
    const N = 5000;
    const D = 96;
    const data = gaussianVectors(N, D, 96);
    const vec = (i: number) => Array.from(data.subarray(i * D, (i + 1) * D));
    const [grpcPort, wsPort, metricsPort, embeddedPort] = await freePorts(4);
    const server = start(
      box.exe,
      ["server", "--server-grpc-host", "127.0.0.1", "--server-grpc-port", `${grpcPort}`, "--server", `127.0.0.1:${wsPort}`,
        "--metrics-host", "127.0.0.1", "--metrics-port", `${metricsPort}`, "--grpc-host", "127.0.0.1", "--grpc-port", `${embeddedPort}`,
        "--dimension", `${D}`, "--creation-edge-size", "8", "--create-index-threshold", "0", "--check-index-interval", "0s"],
      { cwd: box.dir, env: box.env },
    );
    procs.push(server);
    await waitHttp(metricsPort!, "/readyz", 20_000, 20, server);
    const target = `127.0.0.1:${grpcPort}`;
    const batches = (ids: number[], edgeSize: number) =>
      Array.from({ length: Math.ceil(ids.length / 500) }, (_, b) =>
        toBinary(Search_MultiRequestSchema, create(Search_MultiRequestSchema, { requests: ids.slice(b * 500, (b + 1) * 500).map((i) => ({ vector: vec(i), config: { num: 1, edgeSize } })) })),
      );
    const inserts = Array.from({ length: N / 500 }, (_, b) =>
      toBinary(Insert_MultiRequestSchema, create(Insert_MultiRequestSchema, { requests: Array.from({ length: 500 }, (_, j) => ({ vector: { id: `g${b * 500 + j}`, vector: vec(b * 500 + j) } })) })),
    );
    expect((await cLoad(target, "/vald.v1.Insert/MultiInsert", inserts, { concurrency: 2 })).responses.length).toBe(N / 500);
    const rpc = new GrpcJs(target);
    try {
      await rpc.unary(Agent.method.createIndex, { poolSize: 0 }, 60_000);
    } finally {
      rpc.close();
    }
    const missed = async (ids: number[], edgeSize: number) => {
      const run = await cLoad(target, "/vald.v1.Search/MultiSearch", batches(ids, edgeSize), { concurrency: 2 });
      const out: number[] = [];
      run.responses.forEach((bytes, b) =>
        fromBinary(Search_ResponsesSchema, bytes).responses.forEach((r, j) => {
          const id = ids[b * 500 + j]!;
          if (r.results[0]?.id !== `g${id}`) out.push(id);
        }),
      );
      return out;
    };
    // what ef 256 misses, ef N must find: no vector is out of every search's reach
    expect(await missed(await missed([...Array(N).keys()], 256), N)).toEqual([]);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const metric = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, "m").exec(metrics)?.[1]);
    expect(metric("alvd_agent_index_relinked_total")).toBeGreaterThan(5);
    expect(metric("alvd_agent_index_scanned_vectors")).toBeGreaterThan(0);
    expect(await stop(server)).toBe(0);
  }, 120_000);
});
