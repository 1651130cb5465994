// Client keys on real processes: a server (with its embedded agent) and a tunnelled
// agent started with read-write and read-only keys. Every method of every service is
// called anonymously and with the read-only key over gRPC (HTTP/2), gRPC-web and Connect
// JSON (HTTP/1.1), so no road and no method skips the check; then the keys work for
// vald-client-node, curl and Connect clients, /metrics has its own key, a key file is
// re-read on SIGHUP, and no key ever reaches a log line.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { create, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Admin } from "../../src/gen/alvd/cluster/v1/admin_pb";
import { Backup, Snapshot } from "../../src/gen/alvd/cluster/v1/backup_pb";
import { Replica } from "../../src/gen/alvd/cluster/v1/replica_pb";
import { Agent } from "../../src/gen/core/v1/agent_pb";
import { Filter } from "../../src/gen/vald/v1/filter_pb";
import { Flush } from "../../src/gen/vald/v1/flush_pb";
import { Index } from "../../src/gen/vald/v1/index_pb";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { Object$ } from "../../src/gen/vald/v1/object_pb";
import { Remove } from "../../src/gen/vald/v1/remove_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { Update } from "../../src/gen/vald/v1/update_pb";
import { Upsert } from "../../src/gen/vald/v1/upsert_pb";
import { isReadOnlyCall } from "../../src/security/access";
import { startAgent, startServer, waitForAgents, type AgentProc, type ServerProc } from "../lib/cluster";
import { runAlvd } from "../lib/process";
import { insert, search, valdClients } from "../lib/vald";

setDefaultTimeout(60_000);

const RW = "rw-0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const RO = "ro-aa55aa55aa55aa55aa55aa55aa55aa55";
const METRICS = "metrics-5c5c5c5c5c5c5c5c";
const TOKEN = "join-token-for-keys-test";
const SERVICES: DescService[] = [Insert, Update, Upsert, Remove, Search, Object$, Index, Flush, Filter, Agent, Admin, Backup];

let dir: string;
let keyFile: string;
let server: ServerProc;
let agent: AgentProc;

const withKey =
  (key: string | undefined, header = "authorization"): Interceptor =>
  (next) =>
  (req) => {
    if (key !== undefined) req.header.set(header, header === "authorization" ? `Bearer ${key}` : key);
    return next(req);
  };

function transports(port: number, key: string | undefined): Record<string, Transport> {
  const baseUrl = `http://127.0.0.1:${port}`;
  const interceptors = [withKey(key)];
  return {
    grpc: createGrpcTransport({ baseUrl, interceptors }),
    "grpc-web": createGrpcWebTransport({ baseUrl, httpVersion: "1.1", interceptors }),
    connect: createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors }),
  };
}

/** Calls one method with an empty request and returns the status code (Ok when it answered). */
async function codeOf(transport: Transport, service: DescService, method: DescMethod): Promise<Code | "ok"> {
  const client = createClient(service, transport) as unknown as Record<string, (...a: unknown[]) => unknown>;
  const call = client[method.localName]!;
  const input = create(method.input);
  const opts = { timeoutMs: 10_000 };
  try {
    switch (method.methodKind) {
      case "unary":
        await call(input, opts);
        break;
      case "server_streaming":
        for await (const _ of call(input, opts) as AsyncIterable<unknown>) break;
        break;
      case "client_streaming": {
        const one = (async function* () {
          yield input;
        })();
        await call(one, opts);
        break;
      }
      default: {
        const one = (async function* () {
          yield input;
        })();
        for await (const _ of call(one, opts) as AsyncIterable<unknown>) break;
      }
    }
    return "ok";
  } catch (e) {
    return ConnectError.from(e).code;
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "alvd-keys-"));
  keyFile = join(dir, "keys.txt");
  writeFileSync(keyFile, "# rotated by the test\nfile-key-one-0123456789\n");
  const keys = [`--api-key=${RW}`, `--read-only-api-key=${RO}`, `--api-key-file=${keyFile}`, `--metrics-api-key=${METRICS}`];
  server = await startServer({ dimension: 4, token: TOKEN, extra: [...keys, "--replicas=2"] });
  agent = await startAgent({ servers: [server.wsPort], name: "keyed-agent", dimension: 4, token: TOKEN, extra: keys });
  await waitForAgents(server, ["keyed-agent", embeddedName(server)], 20_000, RW);
});

afterAll(async () => {
  await agent?.stop();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function embeddedName(s: ServerProc): string {
  return /agent=(agent-[0-9a-f]+)/.exec(s.logs())![1]!;
}

describe("every method on every road", () => {
  for (const road of ["grpc", "grpc-web", "connect"]) {
    test(`${road}: anonymous → UNAUTHENTICATED; read-only key → PERMISSION_DENIED exactly on writes`, async () => {
      const anon = transports(server.grpcPort, undefined)[road]!;
      const ro = transports(server.grpcPort, RO)[road]!;
      const wrongs: string[] = [];
      let reads = 0;
      for (const service of SERVICES) {
        for (const method of service.methods) {
          // HTTP/1.1 carries no bidi or client streams (neither Connect's client nor a browser can)
          if (road !== "grpc" && (method.methodKind === "bidi_streaming" || method.methodKind === "client_streaming")) continue;
          const path = `/${service.typeName}/${method.name}`;
          const a = await codeOf(anon, service, method);
          if (a !== Code.Unauthenticated) wrongs.push(`${path} anonymous: ${a}`);
          const r = await codeOf(ro, service, method);
          if (isReadOnlyCall(path)) {
            reads++;
            if (r === Code.PermissionDenied || r === Code.Unauthenticated) wrongs.push(`${path} read-only key refused a read: ${r}`);
          } else if (r !== Code.PermissionDenied) wrongs.push(`${path} read-only key on a write: ${r}`);
        }
      }
      expect(wrongs).toEqual([]);
      // the read list is not empty by accident: searches, objects and index info
      expect(reads).toBeGreaterThan(20);
    });
  }

  test("an agent's own port: Replica (the repair's listing and copies) and Snapshot (backups) follow the same rules", async () => {
    const wrongs: string[] = [];
    for (const port of [server.agentPort, agent.grpcPort]) {
      const anon = transports(port, undefined)["grpc"]!;
      const ro = transports(port, RO)["grpc"]!;
      for (const [service, method] of [Replica, Snapshot].flatMap((s) => s.methods.map((m) => [s, m] as const))) {
        const path = `/${service.typeName}/${method.name}`;
        const a = await codeOf(anon, service, method);
        if (a !== Code.Unauthenticated) wrongs.push(`${port} ${path} anonymous: ${a}`);
        const r = await codeOf(ro, service, method);
        if (isReadOnlyCall(path) ? r === Code.PermissionDenied || r === Code.Unauthenticated : r !== Code.PermissionDenied) wrongs.push(`${port} ${path} read-only: ${r}`);
      }
    }
    expect(wrongs).toEqual([]);
  });

  test("a key not configured anywhere is UNAUTHENTICATED; the api-key header works like Bearer", async () => {
    const t = transports(server.grpcPort, "not-a-key-of-ours")["grpc"]!;
    expect(await codeOf(t, Index, Index.method.indexInfo)).toBe(Code.Unauthenticated);
    const viaHeader = createGrpcTransport({ baseUrl: server.base, interceptors: [withKey(RO, "api-key")] });
    expect(await codeOf(viaHeader, Index, Index.method.indexInfo)).toBe("ok");
  });
});

describe("the right keys work for unmodified clients", () => {
  test("vald-client-node with call metadata: read-write inserts, read-only searches, read-only cannot insert", async () => {
    const rw = valdClients(`127.0.0.1:${server.grpcPort}`, { apiKey: RW });
    const ro = valdClients(`127.0.0.1:${server.grpcPort}`, { apiKey: RO });
    const anon = valdClients(`127.0.0.1:${server.grpcPort}`);
    try {
      await insert(rw, "vcn-1", [1, 2, 3, 4]);
      const hits = await search(ro, [1, 2, 3, 4], 1);
      expect(hits[0]?.id).toBe("vcn-1");
      const refused = await insert(ro, "vcn-2", [1, 1, 1, 1]).catch((e: grpc.ServiceError) => e);
      expect((refused as grpc.ServiceError).code).toBe(grpc.status.PERMISSION_DENIED);
      const anonymous = await search(anon, [1, 2, 3, 4], 1).catch((e: grpc.ServiceError) => e);
      expect((anonymous as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
    } finally {
      rw.close();
      ro.close();
      anon.close();
    }
  });

  test("curl with -H: Connect JSON insert with the read-write key, search with the read-only key", async () => {
    const curl = async (key: string, path: string, body: unknown) => {
      const p = Bun.spawn(
        ["curl", "-s", "-w", "\n%{http_code}", `${server.base}${path}`, "-H", "content-type: application/json", "-H", `authorization: Bearer ${key}`, "-d", JSON.stringify(body)],
        { stdout: "pipe" },
      );
      const out = await new Response(p.stdout).text();
      const [json, status] = out.split("\n");
      return { status: Number(status), body: JSON.parse(json!) as Record<string, unknown> };
    };
    const ins = await curl(RW, "/vald.v1.Insert/Insert", { vector: { id: "curl-1", vector: [4, 3, 2, 1] }, config: {} });
    expect(ins.status).toBe(200);
    const denied = await curl(RO, "/vald.v1.Insert/Insert", { vector: { id: "curl-2", vector: [4, 3, 2, 1] }, config: {} });
    expect([denied.status, denied.body.code]).toEqual([403, "permission_denied"]);
    const hits = await curl(RO, "/vald.v1.Search/Search", { vector: [4, 3, 2, 1], config: { num: 1 } });
    expect((hits.body.results as { id: string }[])[0]?.id).toBe("curl-1");
  });

  test("the embedded agent's and the tunnelled agent's own ports apply the same keys; tunnel calls need none", async () => {
    for (const port of [server.agentPort, agent.grpcPort]) {
      const [anon, ro, rw] = [undefined, RO, RW].map((k) => transports(port, k)["grpc"]!);
      expect(await codeOf(anon!, Index, Index.method.indexInfo)).toBe(Code.Unauthenticated);
      expect(await codeOf(ro!, Index, Index.method.indexInfo)).toBe("ok");
      expect(await codeOf(ro!, Flush, Flush.method.flush)).toBe(Code.PermissionDenied);
      // with --replicas 2 and two agents, the gateway put every vector on both through
      // the tunnel (trusted); the agents' own ports show it to a key holder
      const exists = await createClient(Object$, rw!).exists({ id: "vcn-1" });
      expect(exists.id).toBe("vcn-1");
    }
  });
});

test("/metrics asks for the metrics key; /healthz and /readyz stay open", async () => {
  for (const port of [server.metricsPort, agent.metricsPort]) {
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${RW}` } })).status).toBe(401);
    const ok = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("alvd_rpc_requests_total");
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  }
});

test("SIGHUP re-reads the key file: a rotated-out key stops working, the new one starts", async () => {
  const t = (k: string) => transports(server.grpcPort, k)["grpc"]!;
  expect(await codeOf(t("file-key-one-0123456789"), Index, Index.method.indexInfo)).toBe("ok");
  writeFileSync(keyFile, "file-key-two-9876543210\n");
  const reloads = server.logs().split("API keys reloaded").length;
  server.proc.kill("SIGHUP");
  while (server.logs().split("API keys reloaded").length === reloads) await Bun.sleep(20);
  expect(await codeOf(t("file-key-one-0123456789"), Index, Index.method.indexInfo)).toBe(Code.Unauthenticated);
  expect(await codeOf(t("file-key-two-9876543210"), Index, Index.method.indexInfo)).toBe("ok");
  // a broken reload keeps the keys in force
  writeFileSync(keyFile, "# nothing here\n");
  const errors = server.logs().split("could not be reloaded").length;
  server.proc.kill("SIGHUP");
  while (server.logs().split("could not be reloaded").length === errors) await Bun.sleep(20);
  expect(await codeOf(t("file-key-two-9876543210"), Index, Index.method.indexInfo)).toBe("ok");
  // the flag keys never left
  expect(await codeOf(t(RW), Index, Index.method.indexInfo)).toBe("ok");
});

test("no key appears in any log line", () => {
  const logs = server.logs() + agent.logs();
  expect(logs).toContain("API keys required");
  for (const k of [RW, RO, METRICS, TOKEN, "file-key-one-0123456789", "file-key-two-9876543210"]) expect(logs).not.toContain(k);
});

describe("start-up refuses unsafe or broken key settings in one line", () => {
  const refused = async (args: string[], message: RegExp) => {
    const r = await runAlvd(["server", "--server-grpc-port=0", "--server=127.0.0.1:0", "--metrics-port=0", "--grpc-port=0", ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    return r.stderr;
  };

  test("keys without a join token, read-only keys alone, an empty key file, a key a header cannot carry", async () => {
    await refused([`--api-key=${RW}`], /--token is not.*set --token/);
    await refused([`--read-only-api-key=${RO}`, `--token=${TOKEN}`], /--read-only-api-key needs at least one --api-key/);
    const empty = join(dir, "empty.txt");
    writeFileSync(empty, "\n# no keys\n");
    await refused([`--api-key-file=${empty}`, `--token=${TOKEN}`], /--api-key-file: .*holds no keys/);
    const err = await refused([`--api-key=secret with space`, `--token=${TOKEN}`], /--api-key: key 1 has a character a header cannot carry/);
    expect(err).not.toContain("secret");
  });

  test("no keys at all: the server starts open and says so once", async () => {
    const open = await startServer({ dimension: 4 });
    try {
      expect(open.logs().match(/WARN.*no API keys configured/g)).toHaveLength(1);
      expect(await codeOf(transports(open.grpcPort, undefined)["grpc"]!, Index, Index.method.indexInfo)).toBe("ok");
    } finally {
      await open.stop();
    }
  });
});
