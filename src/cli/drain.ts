// `alvd drain NAME --server host:8080`: asks the server (alvd.cluster.v1.Admin/Drain
// over gRPC) to move every vector off the agent, printing progress until the agent
// holds nothing. Exit 0 when drained, 1 when the drain failed (one line saying why).
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { DrainConfig } from "../config/config";
import { Admin } from "../gen/alvd/cluster/v1/admin_pb";

export async function runDrain(cfg: DrainConfig, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<number> {
  const addr = `${cfg.server.host === "0.0.0.0" ? "127.0.0.1" : cfg.server.host}:${cfg.server.port}`;
  const client = createClient(Admin, createGrpcTransport({ baseUrl: `http://${addr}` }));
  try {
    for await (const p of client.drain({ name: cfg.agent, cancel: cfg.cancel })) {
      out(`${p.name}: ${p.message}`);
      if (p.done) return 0;
    }
    out(`alvd drain: the server at ${addr} ended the drain of ${cfg.agent} without finishing it; run it again`);
    return 1;
  } catch (e) {
    const err = ConnectError.from(e);
    const why =
      err.code === Code.Unavailable && /ECONNREFUSED|connect/i.test(err.rawMessage)
        ? `cannot reach the server at ${addr} (--server takes the server's gateway port, e.g. host:8080)`
        : `${err.rawMessage} [${Code[err.code]}]`;
    process.stderr.write(`alvd drain: ${why}\n`);
    return 1;
  }
}
