// `alvd drain` against a server with TLS and client keys: it reaches the Admin service
// only with a read-write key, over TLS verified with --tls-ca-file.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startServer, type ServerProc } from "../lib/cluster";
import { makePki, type TestPki } from "../lib/certs";
import { runAlvd } from "../lib/process";

const RW = "rw-drain-5e5e5e5e5e5e5e5e5e5e";
const RO = "ro-drain-7a7a7a7a7a7a7a7a7a7a";
let pki: TestPki;
let server: ServerProc;

beforeAll(async () => {
  pki = makePki();
  const cert = pki.issue("server");
  server = await startServer({
    tlsCa: pki.ca,
    extra: ["--name=solo", `--tls-cert-file=${cert.certFile}`, `--tls-key-file=${cert.keyFile}`, `--api-key=${RW}`, `--read-only-api-key=${RO}`, "--token=drain-test-token"],
  });
});

afterAll(async () => {
  await server?.stop();
  pki?.cleanup();
});

const drain = (...args: string[]) => runAlvd(["drain", "solo", "--server", `127.0.0.1:${server.grpcPort}`, "--tls-ca-file", pki.caFile, ...args]);

test("without a key, or with a read-only one: refused, one line naming --api-key", async () => {
  for (const r of [await drain(), await drain("--api-key", RO)]) {
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("--api-key");
  }
});

test("with the read-write key over TLS the server answers (the only agent cannot be drained)", async () => {
  const r = await drain("--api-key", RW);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('cannot drain "solo": no other agent would take its vectors');
  // plaintext to a TLS port does not get through
  const plain = await runAlvd(["drain", "solo", "--server", `127.0.0.1:${server.grpcPort}`, "--api-key", RW]);
  expect(plain.code).toBe(1);
});
