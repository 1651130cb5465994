// Micro-benchmark: the same vald.v1.Search service called through the tunnel
// and over a direct Connect gRPC (h2c) connection, both ends in this process.
// Prints median-of-3 rates and tunnel/direct ratios.
//   bun bench/tunnel.ts [--seconds 2] [--bidi 20000]
import { create } from "@bufbuild/protobuf";
import { createClient, createConnectRouter, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Object_DistanceSchema, Search_ConfigSchema, Search_RequestSchema, Search_ResponseSchema, Search_StreamResponseSchema } from "../src/gen/payload/v1/payload_pb";
import { Search } from "../src/gen/vald/v1/search_pb";
import { createLogger } from "../src/observe/log";
import { listenRpc } from "../src/rpc/listen";
import { dialTunnel } from "../src/tunnel/dialer";
import { listenTunnel } from "../src/tunnel/listener";
import type { AgentSession } from "../src/tunnel/session";

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SECONDS = arg("seconds", 2);
const BIDI_MESSAGES = arg("bidi", 20_000);
const CONCURRENCY = arg("concurrency", 32);
const DIM = 784;

const log = createLogger({ level: "warn", format: "text" });

const answer = create(Search_ResponseSchema, {
  requestId: "r",
  results: Array.from({ length: 10 }, (_, i) => create(Object_DistanceSchema, { id: `id-${i}`, distance: i / 10 })),
});

function routes(router: ReturnType<typeof createConnectRouter>) {
  router.service(Search, {
    search: async () => answer,
    async *streamSearch(reqs) {
      for await (const _ of reqs) yield create(Search_StreamResponseSchema, { payload: { case: "response", value: answer } });
    },
  });
  return router;
}

const request = create(Search_RequestSchema, {
  vector: Array.from({ length: DIM }, () => Math.random()),
  config: create(Search_ConfigSchema, { num: 10 }),
});

async function sequentialUnary(t: Transport): Promise<number> {
  const c = createClient(Search, t);
  const end = performance.now() + SECONDS * 1000;
  let n = 0;
  while (performance.now() < end) {
    await c.search(request);
    n++;
  }
  return n / SECONDS;
}

async function concurrentUnary(t: Transport): Promise<number> {
  const c = createClient(Search, t);
  const end = performance.now() + SECONDS * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        await c.search(request);
        n++;
      }
    }),
  );
  return n / SECONDS;
}

async function bidi(t: Transport): Promise<number> {
  const c = createClient(Search, t);
  async function* input() {
    for (let i = 0; i < BIDI_MESSAGES; i++) yield request;
  }
  const start = performance.now();
  let n = 0;
  for await (const _ of c.streamSearch(input())) n++;
  if (n !== BIDI_MESSAGES) throw new Error(`bidi lost messages: ${n}`);
  return n / ((performance.now() - start) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const rpc = await listenRpc({ host: "127.0.0.1", port: 0, routes, log });
  const direct = createGrpcTransport({ baseUrl: `http://127.0.0.1:${rpc.port}` });

  let session: AgentSession | undefined;
  let ready!: () => void;
  const up = new Promise<void>((r) => (ready = r));
  const listener = await listenTunnel({
    host: "127.0.0.1",
    port: 0,
    log,
    onAgent: (s) => {
      session = s;
      ready();
    },
    onAgentGone: () => {},
  });
  const dialer = dialTunnel({
    server: `127.0.0.1:${listener.port}`,
    name: "bench",
    handlers: routes(createConnectRouter()).handlers,
    log,
  });
  await up;
  const tunnel = session!.transport;

  const cases: [string, (t: Transport) => Promise<number>, string][] = [
    ["sequential unary", sequentialUnary, "calls/s"],
    [`unary, concurrency ${CONCURRENCY}`, concurrentUnary, "calls/s"],
    [`bidi ${BIDI_MESSAGES} msgs`, bidi, "msgs/s"],
  ];
  console.log(`Search with ${DIM}-d float vectors, 10 results back; ${SECONDS}s per unary run; median of 3, alternating`);
  for (const [name, run, unit] of cases) {
    // warm both paths, then alternate so drift hits both alike
    await run(tunnel);
    await run(direct);
    const tr: number[] = [];
    const dr: number[] = [];
    for (let i = 0; i < 3; i++) {
      tr.push(await run(tunnel));
      dr.push(await run(direct));
    }
    const t = median(tr);
    const d = median(dr);
    console.log(
      `${name.padEnd(24)} tunnel ${t.toFixed(0).padStart(7)} ${unit}   direct h2c ${d.toFixed(0).padStart(7)} ${unit}   ratio ${(t / d).toFixed(2)}`,
    );
  }

  await dialer.close();
  await listener.close();
  await rpc.close(100);
}

await main();
