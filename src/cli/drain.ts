// `alvd drain NAME --server host:8080`: asks the server (alvd.cluster.v1.Admin/Drain
// over gRPC) to move every vector off the agent, printing progress until the agent
// holds nothing. Exit 0 when drained, 1 when the drain failed (one line saying why).
import { readFileSync } from "node:fs";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { DrainConfig } from "../config/config";
import { Admin } from "../gen/alvd/cluster/v1/admin_pb";

export async function runDrain(cfg: DrainConfig, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<number> {
  const addr = `${cfg.server.host === "0.0.0.0" ? "127.0.0.1" : cfg.server.host}:${cfg.server.port}`;
  const fail = (why: string) => {
    process.stderr.write(`alvd drain: ${why}\n`);
    return 1;
  };
  let ca: Buffer | undefined;
  if (cfg.tls?.caFile !== undefined) {
    try {
      ca = readFileSync(cfg.tls.caFile);
    } catch (e) {
      return fail(`--tls-ca-file: cannot read ${cfg.tls.caFile}: ${(e as Error).message}`);
    }
  }
  const key = cfg.apiKey;
  const withKey: Interceptor = (next) => (req) => {
    if (key !== undefined) req.header.set("authorization", `Bearer ${key}`);
    return next(req);
  };
  const client = createClient(
    Admin,
    createGrpcTransport({ baseUrl: `${cfg.tls ? "https" : "http"}://${addr}`, interceptors: [withKey], nodeOptions: ca ? { ca } : undefined }),
  );
  try {
    for await (const p of client.drain({ name: cfg.agent, cancel: cfg.cancel })) {
      out(`${p.name}: ${p.message}`);
      if (p.done) return 0;
    }
    return fail(`the server at ${addr} ended the drain of ${cfg.agent} without finishing it; run it again`);
  } catch (e) {
    const err = ConnectError.from(e);
    if (err.code === Code.Unavailable && /ECONNREFUSED|ENOTFOUND|connect/i.test(err.rawMessage)) {
      return fail(`cannot reach the server at ${addr} (--server takes the server's gateway port, e.g. host:8080)`);
    }
    if (err.code === Code.Unauthenticated || err.code === Code.PermissionDenied) {
      return fail(`${err.rawMessage} [${Code[err.code]}]: pass a read-write key with --api-key (or ALVD_API_KEY)`);
    }
    return fail(`${err.rawMessage} [${Code[err.code]}]`);
  }
}
