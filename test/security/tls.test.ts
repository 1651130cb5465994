// TLS and mTLS on real processes with certificates made by openssl for this run: the
// gateway port (gRPC over h2 with ALPN, Connect and gRPC-web over HTTP/1.1), the agent
// port, the metrics port and the tunnel (agents dial wss://). Clients: vald-client-node
// on grpc-js with createSsl, Python's grpcio (C-core), curl and Connect's node clients.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { copyFileSync, renameSync } from "node:fs";
import { connect as tlsConnect } from "node:tls";
import { join } from "node:path";
import { Search_RequestSchema, Search_ResponseSchema } from "../../src/gen/payload/v1/payload_pb";
import { Index } from "../../src/gen/vald/v1/index_pb";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { makePki, type TestPki } from "../lib/certs";
import { startAgent, startServer, waitForAgents, type AgentProc, type ServerProc } from "../lib/cluster";
import { spawnAlvd } from "../lib/process";
import { insert, search, valdClients } from "../lib/vald";

setDefaultTimeout(60_000);

const RW = "tls-rw-key-00112233445566778899";
const RO = "tls-ro-key-99887766554433221100";
const TOKEN = "tls-join-token";

let pki: TestPki;
let rogue: TestPki;
const procs: { stop(): Promise<unknown> }[] = [];

beforeAll(() => {
  pki = makePki();
  rogue = makePki("alvd-rogue-pki-");
});

afterAll(async () => {
  for (const p of procs.reverse()) await p.stop();
  pki?.cleanup();
  rogue?.cleanup();
});

const bearer = (key: string) => ({ interceptors: [(next: Parameters<import("@connectrpc/connect").Interceptor>[0]) => (req: Parameters<typeof next>[0]) => (req.header.set("authorization", `Bearer ${key}`), next(req))] });

/** The CN of the certificate a port presents to a new TLS connection. */
function servedCn(port: number, opts: { cert?: string; key?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: "127.0.0.1", port, servername: "localhost", ca: pki.ca, ALPNProtocols: ["h2"], ...opts }, () => {
      const cn = s.getPeerCertificate().subject?.CN ?? "";
      s.destroy();
      resolve(String(cn));
    });
    s.on("error", reject);
  });
}

/** Python's grpcio (C-core) calls one unary method over TLS with raw request bytes. */
async function pythonUnary(port: number, path: string, request: Uint8Array, key: string): Promise<{ ok: true; body: Uint8Array } | { ok: false; code: string }> {
  const script = `
import grpc, sys
creds = grpc.ssl_channel_credentials(root_certificates=open(sys.argv[1], "rb").read())
ch = grpc.secure_channel("localhost:" + sys.argv[2], creds)
call = ch.unary_unary(sys.argv[3], request_serializer=None, response_deserializer=None)
try:
    out = call(bytes.fromhex(sys.argv[4]), metadata=(("authorization", "Bearer " + sys.argv[5]),), timeout=10)
    print("ok", out.hex())
except grpc.RpcError as e:
    print("err", e.code().name)
`;
  const p = Bun.spawn(["/usr/bin/python3", "-c", script, pki.caFile, String(port), path, Buffer.from(request).toString("hex"), key], { stdout: "pipe", stderr: "pipe" });
  const [out, err] = [await new Response(p.stdout).text(), await new Response(p.stderr).text()];
  await p.exited;
  const [kind, rest] = out.trim().split(" ");
  if (kind === "ok") return { ok: true, body: Buffer.from(rest ?? "", "hex") };
  if (kind === "err") return { ok: false, code: rest! };
  throw new Error(`python grpcio failed: ${out}${err}`);
}

describe("TLS with API keys: gateway, embedded agent, metrics and a wss:// agent", () => {
  let server: ServerProc;
  let agent: AgentProc;
  let serverCert: ReturnType<TestPki["issue"]>;

  beforeAll(async () => {
    serverCert = pki.issue("server", "localhost");
    const tls = [`--tls-cert-file=${serverCert.certFile}`, `--tls-key-file=${serverCert.keyFile}`];
    const keys = [`--api-key=${RW}`, `--read-only-api-key=${RO}`];
    server = await startServer({ dimension: 4, token: TOKEN, tlsCa: pki.ca, extra: [...tls, ...keys, "--replicas=2"] });
    procs.push(server);
    agent = await startAgent({ servers: [server.wsPort], name: "wss-agent", dimension: 4, token: TOKEN, tlsCa: pki.ca, extra: [...tls, ...keys, `--tls-ca-file=${pki.caFile}`] });
    procs.push(agent);
    await waitForAgents(server, ["wss-agent", /agent=(agent-[0-9a-f]+)/.exec(server.logs())![1]!], 20_000, RW);
  });

  test("the agent joined over wss:// and the server says the tunnel is TLS", () => {
    expect(agent.logs()).toContain(`server=wss://127.0.0.1:${server.wsPort}/connect`);
    expect(server.logs()).toMatch(/tunnel listening .*scheme=wss/);
  });

  test("vald-client-node over TLS (createSsl): writes with the read-write key, reads with the read-only key, nothing anonymous", async () => {
    const creds = grpc.credentials.createSsl(Buffer.from(pki.ca));
    const rw = valdClients(`localhost:${server.grpcPort}`, { creds, apiKey: RW });
    const ro = valdClients(`localhost:${server.grpcPort}`, { creds, apiKey: RO });
    const anon = valdClients(`localhost:${server.grpcPort}`, { creds });
    try {
      for (let i = 0; i < 10; i++) await insert(rw, `tls-${i}`, [i, 1, 2, 3]);
      const hits = await search(ro, [4, 1, 2, 3], 3);
      expect(hits.map((h) => h.id)).toEqual(["tls-4", "tls-3", "tls-5"]);
      const denied = await insert(ro, "tls-x", [0, 0, 0, 1]).catch((e: grpc.ServiceError) => e);
      expect((denied as grpc.ServiceError).code).toBe(grpc.status.PERMISSION_DENIED);
      const anonymous = await search(anon, [4, 1, 2, 3], 3).catch((e: grpc.ServiceError) => e);
      expect((anonymous as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
    } finally {
      rw.close();
      ro.close();
      anon.close();
    }
    // --replicas 2: the vectors crossed the wss tunnel to the agent; its TLS port shows them
    const direct = valdClients(`localhost:${agent.grpcPort}`, { creds: grpc.credentials.createSsl(Buffer.from(pki.ca)), apiKey: RO });
    try {
      expect((await search(direct, [4, 1, 2, 3], 1))[0]?.id).toBe("tls-4");
    } finally {
      direct.close();
    }
  });

  test("Python grpcio (C-core) over TLS with the read-only key", async () => {
    const req = create(Search_RequestSchema, { vector: [4, 1, 2, 3], config: { num: 2 } });
    const r = await pythonUnary(server.grpcPort, "/vald.v1.Search/Search", toBinary(Search_RequestSchema, req), RO);
    if (!r.ok) throw new Error(`python got ${r.code}`);
    expect(fromBinary(Search_ResponseSchema, r.body).results.map((x) => x.id)).toEqual(["tls-4", "tls-3"]);
    const ins = await pythonUnary(server.grpcPort, "/vald.v1.Insert/Insert", new Uint8Array(), RO);
    expect(ins).toEqual({ ok: false, code: "PERMISSION_DENIED" });
  });

  test("Connect and gRPC-web over HTTP/1.1 with TLS, and curl over HTTP/1.1 and HTTP/2", async () => {
    for (const transport of [
      createGrpcWebTransport({ baseUrl: `https://localhost:${server.grpcPort}`, httpVersion: "1.1", nodeOptions: { ca: pki.ca }, ...bearer(RO) }),
      createGrpcTransport({ baseUrl: `https://localhost:${server.grpcPort}`, nodeOptions: { ca: pki.ca }, ...bearer(RO) }),
    ]) {
      const res = await createClient(Search, transport).search({ vector: [4, 1, 2, 3], config: { num: 1 } });
      expect(res.results[0]?.id).toBe("tls-4");
    }
    const info = await server.client(Index, RO).indexInfo({});
    expect(info.stored + info.uncommitted).toBeGreaterThan(0);
    for (const version of ["--http1.1", "--http2"]) {
      const p = Bun.spawn(
        ["curl", "-s", version, "--cacert", pki.caFile, `https://localhost:${server.grpcPort}/vald.v1.Search/Search`,
          "-H", "content-type: application/json", "-H", `authorization: Bearer ${RO}`, "-d", '{"vector":[4,1,2,3],"config":{"num":1}}'],
        { stdout: "pipe" },
      );
      const body = JSON.parse(await new Response(p.stdout).text()) as { results: { id: string }[] };
      expect(body.results[0]?.id).toBe("tls-4");
    }
  });

  test("plain text to a TLS port is refused and the server keeps serving", async () => {
    for (const port of [server.grpcPort, server.metricsPort, server.wsPort, server.agentPort]) {
      const plain = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => `answered ${r.status}`,
        () => "refused",
      );
      expect(plain).toBe("refused");
    }
    const insecure = valdClients(`127.0.0.1:${server.grpcPort}`, { apiKey: RO });
    const err = await search(insecure, [1, 1, 1, 1], 1).catch((e: grpc.ServiceError) => e);
    insecure.close();
    expect((err as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE);
    // a certificate from a CA the client does not trust fails the handshake
    const wrongCa = createClient(Index, createGrpcTransport({ baseUrl: `https://localhost:${server.grpcPort}`, nodeOptions: { ca: rogue.ca }, ...bearer(RO) }));
    const untrusted = await wrongCa.indexInfo({}).catch((e: unknown) => ConnectError.from(e));
    // the client names it (connect-node reports TLS failures as INTERNAL, grpc-js as UNAVAILABLE)
    expect((untrusted as ConnectError).message).toMatch(/certificate/);
    // still serving
    expect((await fetch(`https://localhost:${server.metricsPort}/healthz`, { tls: { ca: pki.ca } })).status).toBe(200);
    expect((await server.client(Index, RO).indexInfo({})).stored).toBeGreaterThanOrEqual(0);
  });

  test("an agent that does not trust the server's CA is not let in, and says why", async () => {
    const lost = spawnAlvd(["agent", `--server=127.0.0.1:${server.wsPort}`, "--tunnel-tls", "--name=untrusting", "--dimension=4", `--token=${TOKEN}`,
      "--grpc-host=127.0.0.1", "--grpc-port=0", "--metrics-host=127.0.0.1", "--metrics-port=0", `--tls-ca-file=${rogue.caFile}`]);
    try {
      while (!/tunnel connect failed/.test(lost.logs())) await Bun.sleep(50);
      expect(lost.logs()).toMatch(/certificate/i);
      expect(server.logs()).not.toContain('agent="untrusting"');
    } finally {
      await lost.stop();
    }
  });
});

describe("mTLS: client certificates required on the gRPC and tunnel ports; certificates reload in place", () => {
  let server: ServerProc;
  let agent: AgentProc;
  let serverCert: ReturnType<TestPki["issue"]>;
  let client: ReturnType<TestPki["issue"]>;

  beforeAll(async () => {
    serverCert = pki.issue("mtls-server", "localhost");
    client = pki.issue("mtls-client", "client");
    const agentCert = pki.issue("mtls-agent", "agent");
    const common = [`--tls-client-ca-file=${pki.caFile}`];
    server = await startServer({ dimension: 4, token: TOKEN, tlsCa: pki.ca, extra: [...common, `--tls-cert-file=${serverCert.certFile}`, `--tls-key-file=${serverCert.keyFile}`] });
    procs.push(server);
    agent = await startAgent({
      servers: [server.wsPort],
      name: "mtls-agent",
      dimension: 4,
      token: TOKEN,
      tlsCa: pki.ca,
      extra: [...common, `--tls-cert-file=${agentCert.certFile}`, `--tls-key-file=${agentCert.keyFile}`, `--tls-ca-file=${pki.caFile}`],
    });
    procs.push(agent);
  });

  test("the agent presented its certificate and joined; an agent without one is not let in", async () => {
    while (!/agent connected .*agent=mtls-agent/.test(server.logs())) await Bun.sleep(50);
    const bare = spawnAlvd(["agent", `--server=127.0.0.1:${server.wsPort}`, "--name=no-client-cert", "--dimension=4", `--token=${TOKEN}`,
      "--grpc-host=127.0.0.1", "--grpc-port=0", "--metrics-host=127.0.0.1", "--metrics-port=0", `--tls-ca-file=${pki.caFile}`]);
    try {
      while (!/tunnel (connect failed|lost)/.test(bare.logs())) await Bun.sleep(50);
      expect(server.logs()).not.toContain("agent=no-client-cert");
    } finally {
      await bare.stop();
    }
  });

  test("a client without a certificate is refused on every gRPC port; one with a certificate is served", async () => {
    const grpcAt = (port: number, cert?: { cert: string; key: string }) =>
      createClient(Insert, createGrpcTransport({ baseUrl: `https://localhost:${port}`, nodeOptions: { ca: pki.ca, ...cert } }));
    for (const port of [server.grpcPort, server.agentPort, agent.grpcPort]) {
      const without = await grpcAt(port).insert({ vector: { id: "m", vector: [1, 2, 3, 4] } }).catch((e: unknown) => ConnectError.from(e));
      expect(without).toBeInstanceOf(ConnectError);
      expect([Code.Unavailable, Code.Internal]).toContain((without as ConnectError).code);
      expect((without as ConnectError).message).toMatch(/certificate|alert|handshake|socket|ECONNRESET/i);
    }
    const ok = await grpcAt(server.grpcPort, client).insert({ vector: { id: "mtls-1", vector: [1, 2, 3, 4] } });
    expect(ok.uuid).toBe("mtls-1");
    const vald = valdClients(`localhost:${server.grpcPort}`, { creds: grpc.credentials.createSsl(Buffer.from(pki.ca), Buffer.from(client.key), Buffer.from(client.cert)) });
    try {
      expect((await search(vald, [1, 2, 3, 4], 1))[0]?.id).toBe("mtls-1");
    } finally {
      vald.close();
    }
    // the metrics port asks for no client certificate: probes cannot present one
    expect((await fetch(`https://localhost:${server.metricsPort}/readyz`, { tls: { ca: pki.ca } })).status).toBe(200);
  });

  test("a renewed certificate is served on new connections without a restart; agents stay connected", async () => {
    const renewed = pki.issue("renewed", "renewed");
    const ports = [server.grpcPort, server.metricsPort, server.wsPort, server.agentPort];
    for (const p of ports) expect(await servedCn(p, client)).toBe("localhost");
    // how cert-manager and kubelet replace a secret: new files renamed over the old ones
    copyFileSync(renewed.certFile, join(pki.dir, "next.pem"));
    copyFileSync(renewed.keyFile, join(pki.dir, "next.key"));
    renameSync(join(pki.dir, "next.key"), serverCert.keyFile);
    renameSync(join(pki.dir, "next.pem"), serverCert.certFile);
    for (const p of ports) {
      while ((await servedCn(p, client).catch(() => "")) !== "renewed") await Bun.sleep(100);
    }
    expect(server.logs()).toContain("TLS certificate reloaded");
    // a renewal that does not parse keeps the current certificate serving
    const broken = join(pki.dir, "broken.pem");
    await Bun.write(broken, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
    renameSync(broken, serverCert.certFile);
    while (!server.logs().includes("TLS files changed but cannot be used")) await Bun.sleep(100);
    for (const p of ports) expect(await servedCn(p, client)).toBe("renewed");
    expect(server.logs()).not.toContain("agent disconnected");
    const res = await createClient(Search, createGrpcTransport({ baseUrl: `https://localhost:${server.grpcPort}`, nodeOptions: { ca: pki.ca, ...client }, interceptors: [] })).search({
      vector: [1, 2, 3, 4],
      config: { num: 1 },
    });
    expect(res.results[0]?.id).toBe("mtls-1");
  });
});
