// The repair scan under a steady write load and nothing broken (compiled binary): writes in flight while
// the agents are listed must not read as missing copies. Without a re-check of the ids
// being written, an insert listed on one replica but not yet on the other showed as
// under-replicated (alvd_cluster_underreplicated_ids flickered above 0 on a healthy
// cluster) and a third, needless copy could be planned.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { Remove } from "../../src/gen/vald/v1/remove_pb";
import { Search } from "../../src/gen/vald/v1/search_pb";
import { Update } from "../../src/gen/vald/v1/update_pb";
import { metricValue, startAgent, startServer, vectors, waitForAgents, type AgentProc, type ServerProc } from "../lib/cluster";
import { admin, grpcClient, holdings, replicationProblems } from "../lib/heal";
import { releaseBinary } from "../dist/binary";

const DIM = 8;
const WRITERS = 4;
const BATCH = 200;
const SEARCHERS = 2;
const BASE = 60_000;
const LOAD_MS = 6_000;

let server: ServerProc;
let agents: AgentProc[] = [];

beforeAll(async () => {
  // the compiled binary, as users run it (built once per source state, shared with test/dist)
  const cmd = [(await releaseBinary()).binary];
  server = await startServer({
    cmd,
    dimension: DIM,
    embeddedAgent: false,
    // --replica-timeout=0: a write that gives up on a slow replica (CI's 2 busy cores)
    // leaves real, repairable gaps; this test is about the scan's view of healthy writes
    extra: ["--replicas=2", "--repair-interval=100ms", "--repair-rate=0", "--agent-lost-after=1s", "--replica-timeout=0"],
  });
  agents = await Promise.all(["s0", "s1", "s2"].map((name) => startAgent({ servers: [server.wsPort], name, dimension: DIM, cmd })));
  await waitForAgents(server, ["s0", "s1", "s2"]);
  const insert = grpcClient(Insert, server.grpcPort);
  const base = vectors(BASE, DIM, 5).map((d) => ({ ...d, id: `base-${d.id}` }));
  for (let i = 0; i < base.length; i += 1000) await insert.multiInsert({ requests: base.slice(i, i + 1000).map((d) => ({ vector: d, config: {} })) });
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await server?.stop();
});

test("a healthy cluster under inserts, updates and removes never reports an under-replicated id, and the scan copies nothing", async () => {
  const insert = grpcClient(Insert, server.grpcPort);
  const update = grpcClient(Update, server.grpcPort);
  const remove = grpcClient(Remove, server.grpcPort);
  const status = () => admin(server).status({});
  const before = await status();
  let stopped = false;
  let writes = 0;
  const live = new Set<string>();
  // bulk writes: a batch is applied on each replica over a few milliseconds, so a
  // listing can meet it half-way on one replica and not on the other
  const writer = async (w: number) => {
    let s = 7 + w;
    const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const vec = () => Array.from({ length: DIM }, rnd);
    for (let round = 0; !stopped; round++) {
      const ids = Array.from({ length: BATCH }, (_, i) => `w${w}-${round}-${i}`);
      await insert.multiInsert({ requests: ids.map((id) => ({ vector: { id, vector: vec() }, config: {} })) });
      await update.multiUpdate({ requests: ids.slice(0, BATCH / 2).map((id) => ({ vector: { id, vector: vec() }, config: {} })) });
      for (const id of ids) live.add(id);
      // half of the previous round goes again, so removes race the listings too
      if (round > 0) {
        const gone = Array.from({ length: BATCH / 2 }, (_, i) => `w${w}-${round - 1}-${i}`);
        await remove.multiRemove({ requests: gone.map((id) => ({ id: { id }, config: {} })) });
        for (const id of gone) live.delete(id);
      }
      writes += BATCH * 2;
    }
  };
  // searches keep the agents busy, so they answer a listing at different moments
  const search = grpcClient(Search, server.grpcPort);
  const searcher = async () => {
    const q = Array.from({ length: DIM }, (_, i) => i / DIM);
    while (!stopped) await search.linearSearch({ vector: q, config: { num: 10, timeout: 3_000_000_000n } });
  };
  const load = Promise.all([...Array.from({ length: WRITERS }, (_, w) => writer(w)), ...Array.from({ length: SEARCHERS }, searcher)]);
  // what the gateway reports, sampled all along: the status and the gauge
  const seen: string[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < LOAD_MS) {
    const s = await status();
    const gauge = await metricValue(server.metricsPort, "alvd_cluster_underreplicated_ids");
    if (s.underreplicatedIds !== 0n || s.staleCopies !== 0n || (gauge ?? 0) !== 0) {
      seen.push(`${((performance.now() - t0) / 1000).toFixed(2)} s: ${s.underreplicatedIds} under-replicated, ${s.staleCopies} stale, gauge ${gauge}`);
    }
    await Bun.sleep(20);
  }
  stopped = true;
  await load;
  const after = await status();
  console.log(`heal scan under load: ${writes} writes, ${after.passes - before.passes} passes`);
  // the scan did run while the writes went on
  expect(writes).toBeGreaterThan(500);
  expect(after.passes - before.passes).toBeGreaterThanOrEqual(2n);
  expect(seen.slice(0, 5)).toEqual([]);
  expect(after.repairedVectorsTotal - before.repairedVectorsTotal).toBe(0n);
  expect(after.trimmedCopiesTotal - before.trimmedCopiesTotal).toBe(0n);
  // and the writes themselves are where they should be: 2 copies each
  expect(replicationProblems(await holdings(agents), live, 2)).toEqual([]);
});
