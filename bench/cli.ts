// `bun run bench cli`: the client commands against a raw client doing the same work in
// the benchmark process, alternating so both see the same machine:
//  - load:   `alvd load` of Fashion-MNIST rows (gzipped IDX) vs a connect-node
//            StreamInsert of the same rows, prebuilt, with the same window;
//  - export: `alvd export` vs the bare StreamListObject it reads (decode only);
//  - import: `alvd import` of that export vs the raw StreamInsert above.
// Every write starts from an empty server (Flush); the server builds its index only
// between phases (CreateIndex), so builds never overlap a timed phase. The alvd figures
// are whole process runs (start-up, file reading and checksums included), as users see them.
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { Agent } from "../src/gen/core/v1/agent_pb";
import { Insert_RequestSchema } from "../src/gen/payload/v1/payload_pb";
import { Flush } from "../src/gen/vald/v1/flush_pb";
import { Insert } from "../src/gen/vald/v1/insert_pb";
import { Object$ } from "../src/gen/vald/v1/object_pb";
import { benchArgs } from "./lib/args";
import { FASHION_MNIST_DIR } from "./lib/dataset";
import { freePort, ROOT, startAlvd } from "./lib/process";
import { fmt, median, table } from "./lib/stats";

const IMAGES = join(FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz");

async function alvd(args: string[]): Promise<number> {
  const cmd = process.env.ALVD_BENCH_CMD ? process.env.ALVD_BENCH_CMD.split(" ").filter(Boolean) : [process.execPath, join(ROOT, "src/main.ts")];
  const t0 = performance.now();
  const p = Bun.spawn([...cmd, ...args, "--progress", "none"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`alvd ${args.join(" ")} exited ${code}\n${out}${err}`);
  return (performance.now() - t0) / 1000;
}

export async function benchCli(argv: string[]): Promise<void> {
  const a = benchArgs(argv);
  const n = Number(a.get("n") ?? (a.quick ? 5000 : 20000));
  const runs = Number(a.get("runs") ?? (a.quick ? 1 : 3));
  const window = Number(a.get("window") ?? 128);
  const port = await freePort();
  const ws = await freePort();
  const agentPort = await freePort();
  const server = await startAlvd("server", [
    "--server-grpc-host", "127.0.0.1", "--server-grpc-port", String(port), "--server", `127.0.0.1:${ws}`,
    "--grpc-host", "127.0.0.1", "--grpc-port", String(agentPort), "--dimension", "784", "--log-level", "warn",
    // no index builds while a phase is timed (they are bench agent's and gateway's subject)
    "--create-index-threshold", "0", "--check-index-interval", "0",
  ]);
  const dir = mkdtempSync(join(tmpdir(), "alvd-bench-cli-"));
  const at = ["-h", "127.0.0.1", "-p", String(port)];
  try {
    const raw = gunzipSync(readFileSync(IMAGES));
    const rows = Array.from({ length: n }, (_, i) => Array.from(raw.subarray(16 + i * 784, 16 + (i + 1) * 784)));
    const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` });
    const insert = createClient(Insert, transport);
    const object = createClient(Object$, transport);
    const agent = createClient(Agent, transport);
    // After each write phase the index is built at once (CreateIndex), so no background
    // build competes with the next phase; every write phase starts from an empty server.
    const built = () => agent.createIndex({ poolSize: 0 });
    const flush = async () => {
      await built();
      await createClient(Flush, transport).flush({});
    };

    const rawInsert = async (): Promise<number> => {
      const reqs = rows.map((vector, i) => create(Insert_RequestSchema, { vector: { id: String(i), vector }, config: {} }));
      let inFlight = 0;
      let wake: (() => void) | undefined;
      async function* feed() {
        for (const r of reqs) {
          while (inFlight >= window) await new Promise<void>((w) => (wake = w));
          inFlight++;
          yield r;
        }
      }
      const t0 = performance.now();
      let ok = 0;
      for await (const res of insert.streamInsert(feed())) {
        inFlight--;
        if (res.payload.case === "location") ok++;
        wake?.();
      }
      if (ok !== n) throw new Error(`raw StreamInsert stored ${ok} of ${n}`);
      return (performance.now() - t0) / 1000;
    };
    const rawList = async (): Promise<number> => {
      const t0 = performance.now();
      let got = 0;
      for await (const r of object.streamListObject({})) if (r.payload.case === "vector") got++;
      if (got !== n) throw new Error(`StreamListObject listed ${got} of ${n}`);
      return (performance.now() - t0) / 1000;
    };

    const t = { raw: [] as number[], load: [] as number[], list: [] as number[], export: [] as number[], import: [] as number[] };
    const file = join(dir, "bench.alvdexp");
    for (let r = 0; r < runs; r++) {
      await flush();
      t.raw.push(await rawInsert());
      await flush();
      t.load.push(await alvd(["load", IMAGES, ...at, "--limit", String(n), "--window", String(window)]));
      await built();
      t.list.push(await rawList());
      t.export.push(await alvd(["export", ...at, "--out", file]));
      await flush();
      t.import.push(await alvd(["import", file, ...at, "--window", String(window)]));
      process.stderr.write(`run ${r + 1}/${runs}: raw ${fmt.s(t.raw[r]!)}, load ${fmt.s(t.load[r]!)}, list ${fmt.s(t.list[r]!)}, export ${fmt.s(t.export[r]!)}, import ${fmt.s(t.import[r]!)}\n`);
    }
    const rate = (s: number[]) => n / median(s);
    console.log(`\n## cli — ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, ${n.toLocaleString("en-US")} Fashion-MNIST rows (784-d), window ${window}, median of ${runs}\n`);
    console.log(
      table(
        ["work", "alvd command", "reference in the same run", "alvd / reference"],
        [
          ["load (IDX .gz → StreamInsert)", `${fmt.int(rate(t.load))}/s`, `raw StreamInsert ${fmt.int(rate(t.raw))}/s`, fmt.ratio(rate(t.load), rate(t.raw))],
          ["export (StreamListObject → file)", `${fmt.int(rate(t.export))}/s`, `bare StreamListObject ${fmt.int(rate(t.list))}/s`, fmt.ratio(rate(t.export), rate(t.list))],
          ["import (file → StreamInsert, timestamps)", `${fmt.int(rate(t.import))}/s`, `raw StreamInsert ${fmt.int(rate(t.raw))}/s`, fmt.ratio(rate(t.import), rate(t.raw))],
        ],
      ),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await server.stop();
  }
}
