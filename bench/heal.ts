// `bun run bench heal`: how fast does the cluster heal, against how fast it ingests?
// Each round, on a fresh cluster (`alvd server --agent=false --replicas 2
// --repair-rate 0` + 3 in-memory `alvd agent`s, Fashion-MNIST 784-d):
//   insert    — StreamInsert of N vectors through the gateway (the reference)
//   hung      — searches at 4 in flight for 2 s, then one agent SIGSTOPped: time until
//               the server drops it, and search QPS over the next 2 s against before
//   repair    — that agent killed (-9): from "lost" (after --agent-lost-after) until
//               0 under-replicated ids, copies recreated per second
//   rebalance — an empty agent joins: from the join until every agent is within
//               10 % of the mean, copies moved per second
// Rounds alternate the phases, so each ratio compares figures from the same minutes;
// the table gives every round and the median ratio.
// Flags: --quick (5k vectors, 1 round), --vectors N, --rounds N
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Admin } from "../src/gen/alvd/cluster/v1/admin_pb";
import { Replica } from "../src/gen/alvd/cluster/v1/replica_pb";
import { Insert } from "../src/gen/vald/v1/insert_pb";
import { Search } from "../src/gen/vald/v1/search_pb";
import { benchArgs } from "./lib/args";
import { loadFashionMnist, row } from "./lib/dataset";
import { freePort, startAlvd, type AlvdProcess } from "./lib/process";
import { fmt, median, table } from "./lib/stats";

const LOST_AFTER = "2s";

interface Round {
  insertPerS: number;
  detectMs: number;
  qpsBefore: number;
  qpsHung: number;
  repairPerS: number;
  repaired: number;
  rebalancePerS: number;
  moved: number;
}

const client = <S extends Parameters<typeof createClient>[0]>(s: S, port: number) => createClient(s, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 600_000): Promise<number> {
  const t0 = performance.now();
  while (!(await check().catch(() => false))) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`bench heal: timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
  return performance.now();
}

async function round(n: number, vectors: (i: number) => number[], queries: number[][]): Promise<Round> {
  const [grpcPort, wsPort] = [await freePort(), await freePort()];
  const server = await startAlvd("server", [
    "--agent=false",
    "--server-grpc-host=127.0.0.1",
    `--server-grpc-port=${grpcPort}`,
    `--server=127.0.0.1:${wsPort}`,
    "--dimension=784",
    "--replicas=2",
    "--repair-rate=0",
    `--agent-lost-after=${LOST_AFTER}`,
    "--repair-interval=0",
  ]);
  const agents = new Map<string, { p: AlvdProcess; port: number }>();
  const startAgent = async (name: string) => {
    const port = await freePort();
    const p = await startAlvd("agent", [`--server=127.0.0.1:${wsPort}`, `--name=${name}`, "--grpc-host=127.0.0.1", `--grpc-port=${port}`, "--dimension=784"]);
    agents.set(name, { p, port });
  };
  const admin = client(Admin, grpcPort);
  const member = async (name: string) => (await admin.status({})).members.find((m) => m.name === name);
  try {
    await Promise.all(["b0", "b1", "b2"].map(startAgent));
    await until("3 agents", async () => (await admin.status({})).members.filter((m) => m.state === 1).length === 3);

    // insert: the reference
    const t0 = performance.now();
    let acked = 0;
    async function* requests() {
      for (let i = 0; i < n; i++) yield { vector: { id: `f-${i}`, vector: vectors(i) }, config: {} };
    }
    for await (const r of client(Insert, grpcPort).streamInsert(requests())) {
      if (r.payload.case !== "location") throw new Error(`StreamInsert failed: ${r.payload.case === "status" ? r.payload.value.message : "empty"}`);
      acked++;
    }
    const insertPerS = acked / ((performance.now() - t0) / 1000);
    await until("a clean scan", async () => {
      const s = await admin.status({});
      return s.targetReplicas === 2 && s.underreplicatedIds === 0n && s.passes > 0n && !s.repairing;
    });

    // hung: searches before and after a SIGSTOP
    const search = client(Search, grpcPort);
    let done = 0;
    let stop = false;
    const searcher = async (k: number) => {
      for (let q = k; !stop; q = (q + 4) % queries.length) {
        await search.search({ vector: queries[q]!, config: { num: 10, timeout: 3_000_000_000n } });
        done++;
      }
    };
    const searchers = [0, 1, 2, 3].map(searcher);
    await Bun.sleep(500);
    let c0 = done;
    await Bun.sleep(2000);
    const qpsBefore = (done - c0) / 2;
    const hung = agents.get("b2")!;
    hung.p.proc.kill("SIGSTOP");
    const tStop = performance.now();
    c0 = done;
    const qpsWatch = Bun.sleep(2000).then(() => (done - c0) / 2);
    const detected = await until("the hung agent dropped", async () => (await member("b2"))?.state === 2);
    const qpsHung = await qpsWatch;
    stop = true;
    await Promise.all(searchers);

    // repair: the hung agent dies for good
    hung.p.proc.kill("SIGKILL");
    await hung.p.proc.exited;
    agents.delete("b2");
    const before = await admin.status({});
    const lostAt = await until("the agent lost", async () => (await member("b2"))?.state === 3);
    const repairedAt = await until("0 under-replicated", async () => {
      const s = await admin.status({});
      return s.underreplicatedIds === 0n && !s.repairing && s.lastPassMs > BigInt(Date.now() - 60_000) && s.repairedVectorsTotal > before.repairedVectorsTotal;
    });
    const afterRepair = await admin.status({});
    const repaired = Number(afterRepair.repairedVectorsTotal - before.repairedVectorsTotal);

    // rebalance: an empty agent joins
    await startAgent("b3");
    const joinAt = await until("the new agent connected", async () => (await member("b3"))?.state === 1);
    const counts = async () => Promise.all([...agents.values()].map(async (a) => Number((await client(Replica, a.port).state({})).stored)));
    const balancedAt = await until("balanced", async () => {
      const c = await counts();
      const mean = c.reduce((x, y) => x + y, 0) / c.length;
      return c.every((x) => Math.abs(x - mean) <= 0.1 * mean) && !(await admin.status({})).repairing;
    });
    const moved = Number((await admin.status({})).movedVectorsTotal - afterRepair.movedVectorsTotal);
    return {
      insertPerS,
      detectMs: detected - tStop,
      qpsBefore,
      qpsHung,
      repaired,
      repairPerS: repaired / ((repairedAt - lostAt) / 1000),
      moved,
      rebalancePerS: moved / ((balancedAt - joinAt) / 1000),
    };
  } finally {
    for (const a of agents.values()) a.p.proc.kill("SIGCONT");
    await Promise.all([...agents.values()].map((a) => a.p.stop()));
    await server.stop();
  }
}

export async function benchHeal(argv: string[]): Promise<void> {
  const { quick, get } = benchArgs(argv);
  const n = Number(get("vectors") ?? (quick ? 5000 : 20_000));
  const rounds = Number(get("rounds") ?? (quick ? 1 : 3));
  const ds = loadFashionMnist();
  if (n > ds.trainCount) throw new Error(`--vectors: at most ${ds.trainCount}`);
  const vectors = (i: number) => Array.from(row(ds.train, ds.dimension, i));
  const queries = Array.from({ length: 200 }, (_, i) => Array.from(row(ds.test, ds.dimension, i)));
  const results: Round[] = [];
  for (let r = 0; r < rounds; r++) {
    process.stderr.write(`bench heal: round ${r + 1}/${rounds} (${n} vectors)\n`);
    results.push(await round(n, vectors, queries));
  }
  const rows = results.map((x, i) => [
    String(i + 1),
    fmt.int(x.insertPerS),
    `${fmt.int(x.repairPerS)} (${fmt.int(x.repaired)})`,
    fmt.ratio(x.repairPerS, x.insertPerS),
    `${fmt.int(x.rebalancePerS)} (${fmt.int(x.moved)})`,
    fmt.ratio(x.rebalancePerS, x.insertPerS),
    fmt.ms(x.detectMs),
    `${fmt.int(x.qpsBefore)} → ${fmt.int(x.qpsHung)}`,
  ]);
  rows.push([
    "median",
    fmt.int(median(results.map((x) => x.insertPerS))),
    fmt.int(median(results.map((x) => x.repairPerS))),
    `${fmt.f(median(results.map((x) => x.repairPerS / x.insertPerS)))}×`,
    fmt.int(median(results.map((x) => x.rebalancePerS))),
    `${fmt.f(median(results.map((x) => x.rebalancePerS / x.insertPerS)))}×`,
    fmt.ms(median(results.map((x) => x.detectMs))),
    `${fmt.f(median(results.map((x) => x.qpsHung / x.qpsBefore)))}×`,
  ]);
  process.stdout.write(
    `\n${n} Fashion-MNIST vectors (784-d), --replicas 2, 3 agents, --repair-rate 0 (unpaced)\n\n` +
      table(["round", "StreamInsert vectors/s", "repair copies/s (copies)", "repair/insert", "rebalance moves/s (moves)", "rebalance/insert", "hung agent dropped after", "search QPS before → while hung"], rows) +
      "\n",
  );
}
