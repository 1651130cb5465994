// `alvd server` as a user starts it: one port answers gRPC (HTTP/2), gRPC-web and
// Connect (HTTP/1.1, binary and JSON), and it stops cleanly on SIGTERM.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { Index } from "../../src/gen/vald/v1/index_pb";
import { grpcClient, grpcUnary } from "../lib/grpc";
import { freePorts } from "../lib/ports";
import { spawnAlvd, waitHttpOk, type Running } from "../lib/process";

let server: Running;
let grpcPort: number;
let base: string;

beforeAll(async () => {
  const [g, ws, m, a] = await freePorts(4);
  grpcPort = g!;
  base = `http://127.0.0.1:${grpcPort}`;
  server = spawnAlvd([
    "server",
    "--server-grpc-host=127.0.0.1",
    `--server-grpc-port=${grpcPort}`,
    `--server=127.0.0.1:${ws}`,
    "--metrics-host=127.0.0.1",
    `--metrics-port=${m}`,
    "--grpc-host=127.0.0.1",
    `--grpc-port=${a}`,
    "--dimension=8",
  ]);
  await waitHttpOk(`http://127.0.0.1:${m}/readyz`, server);
});

afterAll(async () => {
  await server?.stop();
});

test("gRPC over HTTP/2 (grpc-js)", async () => {
  const c = grpcClient(`127.0.0.1:${grpcPort}`);
  try {
    const info = await grpcUnary(c, Index.method.indexInfo, {});
    expect(info.stored).toBe(0);
    expect(info.uncommitted).toBe(0);
  } finally {
    c.close();
  }
});

test("Connect and gRPC-web over HTTP/1.1 on the same port", async () => {
  for (const transport of [
    createConnectTransport({ baseUrl: base, httpVersion: "1.1" }),
    createConnectTransport({ baseUrl: base, httpVersion: "1.1", useBinaryFormat: true }),
    createGrpcWebTransport({ baseUrl: base, httpVersion: "1.1" }),
    createConnectTransport({ baseUrl: base, httpVersion: "2" }),
  ]) {
    const info = await createClient(Index, transport).indexInfo({});
    expect(info.stored).toBe(0);
  }
});

test("plain HTTP/1.1 JSON, as curl or a browser sends it, with CORS", async () => {
  const r = await fetch(`${base}/vald.v1.Index/IndexInfo`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: "http://example.test" },
    body: "{}",
  });
  expect(r.status).toBe(200);
  expect(r.headers.get("access-control-allow-origin")).toBe("*");
  expect(await r.json()).toEqual({});
  const pre = await fetch(`${base}/vald.v1.Index/IndexInfo`, { method: "OPTIONS" });
  expect(pre.status).toBe(204);
});

test("SIGTERM stops the server with exit code 0", async () => {
  expect(await server.stop()).toBe(0);
  expect(server.logs()).toContain("stopped");
});
