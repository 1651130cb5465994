// Load the first n base vectors into an agent or gateway the way bulk clients do
// (MultiInsert batches, 2 in flight), then build the index once; returns both times.
import { Agent } from "../../src/gen/core/v1/agent_pb";
import { Index } from "../../src/gen/vald/v1/index_pb";
import { Insert } from "../../src/gen/vald/v1/insert_pb";
import { row, type Dataset } from "./dataset";
import type { GrpcClient } from "./grpc";
import { timedPool } from "./stats";

export async function ingest(client: GrpcClient, ds: Dataset, n: number, batch: number): Promise<{ insertS: number; indexS: number }> {
  const d = ds.dimension;
  const batches = Array.from({ length: Math.ceil(n / batch) }, (_, b) => b);
  let t = performance.now();
  await timedPool(batches, 2, async (b) => {
    const requests = [];
    for (let i = b * batch; i < Math.min(n, (b + 1) * batch); i++) {
      requests.push({ vector: { id: String(i), vector: Array.from(row(ds.train, d, i)) } });
    }
    await client.unary(Insert.method.multiInsert, { requests });
  });
  const insertS = (performance.now() - t) / 1000;
  t = performance.now();
  await client.unary(Agent.method.createIndex, { poolSize: 0 });
  const indexS = (performance.now() - t) / 1000;
  const info = await client.unary(Index.method.indexInfo, {});
  if (info.stored !== n || info.uncommitted !== 0) throw new Error(`${info.stored} stored (${info.uncommitted} uncommitted), expected ${n}`);
  return { insertS, indexS };
}
