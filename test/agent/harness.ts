// Test harness for the agent: start the real `alvd agent` process on free ports, wait
// for /readyz, stop it by signal; and a grpc-js client that speaks our generated
// protobuf-es types (every RPC, including the ones vald-client-node 1.7 lacks).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { fromBinary, toBinary, type DescMethod, type DescMessage, type MessageInitShape, type MessageShape, create } from "@bufbuild/protobuf";
import type { Subprocess } from "bun";
import { freePort } from "../lib/ports";

export { freePort };

export const ROOT = resolve(import.meta.dir, "../..");
export const MAIN = join(ROOT, "src/main.ts");
/**
 * How to start alvd: `bun src/main.ts` by default; ALVD_TEST_CMD (space-separated)
 * runs the same tests against e.g. the compiled binary ("dist/alvd").
 */
export const ALVD_CMD = process.env.ALVD_TEST_CMD ? process.env.ALVD_TEST_CMD.split(" ").filter(Boolean) : [process.execPath, MAIN];

export async function tempDir(prefix = "alvd-agent-test-"): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface AgentProcess {
  readonly grpcPort: number;
  readonly metricsPort: number;
  /** host:port for grpc-js */
  readonly address: string;
  /** http://127.0.0.1:port for Connect / gRPC-web */
  readonly baseUrl: string;
  readonly proc: Subprocess;
  output(): string;
  /** SIGTERM (graceful: drain, save) and wait; returns the exit code */
  stop(): Promise<number>;
  /** SIGKILL and wait */
  kill(): Promise<void>;
}

export interface SpawnOptions {
  dimension?: number;
  grpcPort?: number;
  /** extra flags, e.g. ["--index-path", dir] */
  args?: string[];
  readyTimeoutMs?: number;
  /** extra environment, e.g. ALVD_TEST_CRASH_AT */
  env?: Record<string, string>;
  /** run the agent under this command, e.g. setpriv dropping root's file-permission override */
  wrap?: string[];
}

/** How a start that was expected to fail ended: its exit code and everything it printed. */
export interface FailedStart {
  code: number | null;
  output: string;
}

async function isReady(metricsPort: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
    return r.status === 200;
  } catch {
    return false;
  }
}

export async function spawnAgent(opts: SpawnOptions = {}): Promise<AgentProcess> {
  const r = await startAgent(opts);
  if ("proc" in r) return r;
  throw new Error(`agent did not become ready (exit ${r.code}):\n${r.output}`);
}

/** Starts an agent and waits until it is ready or has exited (a refused start). */
export async function startAgent(opts: SpawnOptions = {}): Promise<AgentProcess | FailedStart> {
  const grpcPort = opts.grpcPort ?? (await freePort());
  const metricsPort = await freePort();
  const argv = [
    ...(opts.wrap ?? []),
    ...ALVD_CMD,
    "agent",
    "--server",
    "",
    "--grpc-host",
    "127.0.0.1",
    "--grpc-port",
    String(grpcPort),
    "--metrics-host",
    "127.0.0.1",
    "--metrics-port",
    String(metricsPort),
    "--dimension",
    String(opts.dimension ?? 8),
    "--log-level",
    "warn",
    ...(opts.args ?? []),
  ];
  const proc = Bun.spawn(argv, { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: { ...process.env, ...opts.env } });
  let out = "";
  const collect = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of s) out += dec.decode(chunk);
  };
  const drained = Promise.all([collect(proc.stdout as ReadableStream<Uint8Array>), collect(proc.stderr as ReadableStream<Uint8Array>)]);
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
  while (!(await isReady(metricsPort))) {
    if (proc.exitCode !== null || proc.signalCode !== null || Date.now() > deadline) {
      if (proc.exitCode === null) proc.kill("SIGKILL");
      await proc.exited;
      await drained;
      return { code: proc.exitCode, output: out };
    }
    await Bun.sleep(50);
  }
  return {
    grpcPort,
    metricsPort,
    address: `127.0.0.1:${grpcPort}`,
    baseUrl: `http://127.0.0.1:${grpcPort}`,
    proc,
    output: () => out,
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      const bounded = setTimeout(() => proc.kill("SIGKILL"), 15_000);
      const code = await proc.exited;
      clearTimeout(bounded);
      return code;
    },
    async kill() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}

/** grpc-js with our generated schemas: a real HTTP/2 gRPC client for any method. */
export class GrpcJs {
  readonly client: grpc.Client;
  constructor(address: string) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": 256 * 1024 * 1024,
      "grpc.max_send_message_length": 256 * 1024 * 1024,
    });
  }

  private static path(m: DescMethod): string {
    return `/${m.parent.typeName}/${m.name}`;
  }

  private static codec<I extends DescMessage, O extends DescMessage>(m: { input: I; output: O }) {
    return {
      ser: (v: MessageShape<I>) => Buffer.from(toBinary(m.input, v)),
      de: (b: Buffer) => fromBinary(m.output, b),
    };
  }

  unary<I extends DescMessage, O extends DescMessage>(
    m: DescMethod & { input: I; output: O },
    req: MessageInitShape<I>,
    deadlineMs = 10_000,
  ): Promise<MessageShape<O>> {
    const { ser, de } = GrpcJs.codec(m);
    return new Promise((done, fail) => {
      this.client.makeUnaryRequest(GrpcJs.path(m), ser, de, create(m.input, req), new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) =>
        err ? fail(err) : done(res as MessageShape<O>),
      );
    });
  }

  /** writes every request, half-closes, collects every response */
  bidi<I extends DescMessage, O extends DescMessage>(m: DescMethod & { input: I; output: O }, reqs: MessageInitShape<I>[]): Promise<MessageShape<O>[]> {
    const { ser, de } = GrpcJs.codec(m);
    const call = this.client.makeBidiStreamRequest(GrpcJs.path(m), ser, de, new grpc.Metadata(), { deadline: Date.now() + 30_000 });
    const out: MessageShape<O>[] = [];
    return new Promise((done, fail) => {
      call.on("data", (r: MessageShape<O>) => out.push(r));
      call.on("error", fail);
      call.on("end", () => done(out));
      for (const r of reqs) call.write(create(m.input, r));
      call.end();
    });
  }

  serverStream<I extends DescMessage, O extends DescMessage>(m: DescMethod & { input: I; output: O }, req: MessageInitShape<I>): Promise<MessageShape<O>[]> {
    const { ser, de } = GrpcJs.codec(m);
    const call = this.client.makeServerStreamRequest(GrpcJs.path(m), ser, de, create(m.input, req), new grpc.Metadata(), { deadline: Date.now() + 30_000 });
    const out: MessageShape<O>[] = [];
    return new Promise((done, fail) => {
      call.on("data", (r: MessageShape<O>) => out.push(r));
      call.on("error", fail);
      call.on("end", () => done(out));
    });
  }

  close(): void {
    this.client.close();
  }
}

/** deterministic pseudo-random vectors (mulberry32) */
export function vectors(count: number, dimension: number, seed = 1): number[][] {
  let s = seed;
  const rnd = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: count }, () => Array.from({ length: dimension }, () => Math.fround(rnd() * 2 - 1)));
}

/** the status of a failed grpc-js call (code + details) */
export async function grpcError(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (e) {
    return e as grpc.ServiceError;
  }
  throw new Error("expected the call to fail");
}
