// The client commands through the compiled binary alone (an isolated copy, no
// node_modules in reach): the README quick start `alvd rand-vecs … | alvd stream-insert`,
// load of Fashion-MNIST (gzipped IDX) and of a float16 .npy, export → Flush → import bit
// for bit, and the progress bar on a terminal.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Index } from "../../src/gen/vald/v1/index_pb";
import { Object$ } from "../../src/gen/vald/v1/object_pb";
import { isolatedCopy, releaseBinary, start, stop, waitHttp, type Proc } from "../dist/binary";
import { freePorts } from "../lib/ports";
import { cli, f32Vectors, FASHION_MNIST, held, requireFashionMnist, sameBits, shell } from "./lib";

setDefaultTimeout(120_000);

let box: ReturnType<typeof isolatedCopy>;
let server: Proc;
let port: number;
const run = (args: string[], stdin?: string) => cli(args, { cmd: [box.exe], env: box.env, cwd: box.dir, stdin });
const sh = (script: string) => shell(script, { cmd: [box.exe], env: box.env, cwd: box.dir });
const clients = () => {
  const t = createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` });
  return { index: createClient(Index, t), object: createClient(Object$, t) };
};

beforeAll(async () => {
  requireFashionMnist();
  box = isolatedCopy((await releaseBinary()).binary);
  const [grpc, ws, metrics, agent] = await freePorts(4);
  port = grpc!;
  server = start(
    box.exe,
    ["server", "--server-grpc-host", "127.0.0.1", "--server-grpc-port", `${grpc}`, "--server", `127.0.0.1:${ws}`, "--metrics-host", "127.0.0.1",
      "--metrics-port", `${metrics}`, "--grpc-host", "127.0.0.1", "--grpc-port", `${agent}`, "--dimension", "784"],
    { cwd: box.dir, env: box.env },
  );
  await waitHttp(metrics!, "/readyz", 20_000, 20, server);
}, 15 * 60_000);

afterAll(async () => {
  if (server) await stop(server, 5_000);
  box?.cleanup();
});

describe("alvd binary as a client", () => {
  test("README quick start: alvd rand-vecs -d 784 -n 100 --with-ids | alvd stream-insert -h HOST -p PORT", async () => {
    const r = await sh(`alvd rand-vecs -d 784 -n 100 --with-ids | alvd stream-insert -h 127.0.0.1 -p ${port}`);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith("inserted 100 vectors");
    expect(await held(clients().index)).toBe(100);
    const search = await sh(`alvd rand-vecs -d 784 -n 3 | alvd stream-search -p ${port} -n 5`);
    expect(search.code).toBe(0);
    expect(search.stdout.trim().split("\n").map((l) => JSON.parse(l).results.length)).toEqual([5, 5, 5]);
    const help = await run(["load", "--help"]);
    expect(help.stdout).toContain("Usage: alvd load FILE");
  });

  test("load Fashion-MNIST (gzipped IDX) and a float16 .npy; export → flush → import keeps every bit", async () => {
    const { index, object } = clients();
    expect((await run(["flush", "-p", `${port}`, "--yes"])).code).toBe(0);
    const fm = await run(["load", FASHION_MNIST, "-p", `${port}`, "--limit", "2000", "--id-prefix", "fm-"]);
    expect(fm.code).toBe(0);
    expect(fm.stdout).toStartWith("loaded 2,000 vectors");
    // float16 .npy: Float16Array is there in the compiled runtime
    const rows = f32Vectors(4, 784, 5).map((v) => Float32Array.from(Float16Array.from(v)));
    const npy = join(box.dir, "h.npy");
    let header = `{'descr': '<f2', 'fortran_order': False, 'shape': (4, 784), }`;
    header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
    const body = Float16Array.from(rows.flatMap((r) => Array.from(r)));
    const bytes = new Uint8Array(10 + header.length + body.byteLength);
    bytes.set([0x93, 78, 85, 77, 80, 89, 1, 0]);
    new DataView(bytes.buffer).setUint16(8, header.length, true);
    bytes.set(new TextEncoder().encode(header), 10);
    bytes.set(new Uint8Array(body.buffer), 10 + header.length);
    writeFileSync(npy, bytes);
    expect((await run(["load", npy, "-p", `${port}`, "--id-prefix", "h-"])).code).toBe(0);
    for (const [i, r] of rows.entries()) expect(sameBits((await object.getObject({ id: { id: `h-${i}` } })).vector, r)).toBe(true);

    const before = await Promise.all(["fm-0", "fm-1999", "h-3"].map((id) => object.getObject({ id: { id } })));
    const file = join(box.dir, "all.alvdexp");
    const ex = await run(["export", "-p", `${port}`, "--out", file]);
    expect(ex.code).toBe(0);
    expect(ex.stdout).toStartWith("exported 2,004 vectors");
    expect((await run(["flush", "-p", `${port}`, "--yes"])).code).toBe(0);
    expect(await held(index)).toBe(0);
    const im = await run(["import", file, "-p", `${port}`]);
    expect(im.code).toBe(0);
    expect(im.stdout).toStartWith("imported 2,004 vectors");
    expect(await held(index)).toBe(2004);
    for (const b of before) {
      const a = await object.getObject({ id: { id: b.id } });
      expect(a.timestamp).toBe(b.timestamp);
      expect(sameBits(a.vector, b.vector)).toBe(true);
    }

    // the bar on a terminal
    const tty = await sh(`script -qec "$(printf '%q ' '${box.exe}' load '${FASHION_MNIST}' -p ${port} --limit 500 --skip 2000 --id-prefix fm-)" /dev/null`);
    expect(tty.code).toBe(0);
    expect(tty.stdout).toMatch(/\r\x1b\[Kload \[#+\] 100% 500\/500 /);
  });

  test("README quick start: alvd backup → flush → alvd restore through the binary, bit for bit (in-memory agent, files mode)", async () => {
    const { index, object } = clients();
    const ids = ["fm-0", "fm-2499", "h-3"];
    const before = await Promise.all(ids.map((id) => object.getObject({ id: { id } })));
    const count = await held(index);
    const file = join(box.dir, "cluster.alvdbak");
    const bk = await run(["backup", "-p", `${port}`, "--out", file]);
    expect({ code: bk.code, err: bk.stderr }).toEqual({ code: 0, err: "" });
    expect(bk.stdout).toStartWith(`backed up 1 agent (${count.toLocaleString("en-US")} vectors) to ${file}`);
    expect((await run(["flush", "-p", `${port}`, "--yes"])).code).toBe(0);
    const rs = await run(["restore", file, "-p", `${port}`]);
    expect({ code: rs.code, err: rs.stderr }).toEqual({ code: 0, err: "" });
    expect(rs.stdout).toMatch(new RegExp(`^restored ${count.toLocaleString("en-US")} vectors on 1 agent from 1 backup file in [\\d.]+ s: installed the snapshot files into empty agents\n$`));
    expect(await held(index)).toBe(count);
    for (const b of before) {
      const a = await object.getObject({ id: { id: b.id } });
      expect(a.timestamp).toBe(b.timestamp);
      expect(sameBits(a.vector, b.vector)).toBe(true);
    }
  });
});
