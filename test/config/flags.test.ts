import { describe, expect, test } from "bun:test";
import { agentConfig, serverConfig } from "../../src/config/config";
import { parseDuration } from "../../src/config/duration";
import { ConfigError } from "../../src/config/parse";
import { runAlvd } from "../lib/process";

describe("server flags", () => {
  test("defaults follow alvd", () => {
    const c = serverConfig([], {});
    expect(c.embeddedAgent).toBe(true);
    expect(c.gateway).toEqual({ host: "0.0.0.0", port: 8080 });
    expect(c.tunnel).toEqual({ host: "0.0.0.0", port: 8000 });
    expect(c.replicas).toBe(3);
    expect(c.checkIndexIntervalMs).toBe(5000);
    expect(c.createIndexThreshold).toBe(100);
    expect(c.metrics).toEqual({ host: "0.0.0.0", port: 9090 });
    expect(c.agent.grpc).toEqual({ host: "0.0.0.0", port: 8081 });
    expect(c.agent.index.dimension).toBe(784);
    expect(c.agent.index.metric).toBe("l2sq");
    expect(c.agent.index.quantization).toBe("f32");
    expect(c.agent.index.indexPath).toBeUndefined();
    expect(c.log).toEqual({ level: "info", format: "text" });
  });

  test("flags in both spellings, booleans, durations", () => {
    const c = serverConfig(
      ["--agent=false", "--server-grpc-port", "9000", "--replicas=2", "--check-index-interval", "1m30s", "--server", ":7000"],
      {},
    );
    expect(c.embeddedAgent).toBe(false);
    expect(c.gateway.port).toBe(9000);
    expect(c.replicas).toBe(2);
    expect(c.checkIndexIntervalMs).toBe(90_000);
    expect(c.tunnel).toEqual({ host: "0.0.0.0", port: 7000 });
    expect(serverConfig(["--agent"], {}).embeddedAgent).toBe(true);
    expect(serverConfig(["--object-type", "int8", "--distance-type", "cosine"], {}).agent.index.quantization).toBe("i8");
    expect(serverConfig(["--agent", "false"], {}).embeddedAgent).toBe(false);
  });

  test("env vars, overridden by flags", () => {
    const env = { ALVD_SERVER_GRPC_PORT: "9100", ALVD_TOKEN: "s3cret", ALVD_DISTANCE_TYPE: "cosine" };
    const c = serverConfig([], env);
    expect(c.gateway.port).toBe(9100);
    expect(c.token).toBe("s3cret");
    expect(c.agent.index.metric).toBe("cos");
    expect(serverConfig(["--server-grpc-port", "9200"], env).gateway.port).toBe(9200);
  });

  test("bad values name the flag", () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [["--server-grpc-port", "abc"], {}, /^--server-grpc-port: expected a port/],
      [["--server-grpc-port", "70000"], {}, /^--server-grpc-port:/],
      [["--replicas", "0"], {}, /^--replicas:/],
      [["--check-index-interval", "5x"], {}, /^--check-index-interval: expected a duration/],
      [["--distance-type", "manhattan"], {}, /^--distance-type: expected one of/],
      [["--server", "nope"], {}, /^--server: expected host:port/],
      [["--agent=maybe"], {}, /^--agent: expected true or false/],
      [[], { ALVD_METRICS_PORT: "x" }, /^ALVD_METRICS_PORT \(--metrics-port\):/],
      [["--frobnicate", "1"], {}, /unknown flag --frobnicate/],
      [["--dimension"], {}, /^--dimension: missing value/],
      [["--metrics-port", "8080"], {}, /port 8080 is used twice/],
      [["--object-type", "int8"], {}, /^--object-type int8 works only with --distance-type cosine/],
    ];
    for (const [argv, env, re] of cases) {
      let err: unknown;
      try {
        serverConfig(argv, env);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(re);
    }
  });
});

describe("agent flags", () => {
  test("server list and defaults", () => {
    const c = agentConfig(["--server", "10.0.0.1:8000, srv-b:8001", "--grpc-port", "8082"], {});
    expect(c.servers).toEqual([
      { host: "10.0.0.1", port: 8000 },
      { host: "srv-b", port: 8001 },
    ]);
    expect(c.grpc.port).toBe(8082);
    expect(agentConfig([], {}).servers).toEqual([{ host: "0.0.0.0", port: 8000 }]);
    expect(agentConfig(["--server", ""], {}).servers).toEqual([]);
  });

  test("server-only flags are refused", () => {
    expect(() => agentConfig(["--replicas", "2"], {})).toThrow(/unknown flag --replicas for alvd agent/);
  });
});

test("Go-style durations", () => {
  expect(parseDuration("300ms")).toBe(300);
  expect(parseDuration("1h2m3s")).toBe(3_723_000);
  expect(parseDuration("1.5s")).toBe(1500);
  expect(parseDuration("0")).toBe(0);
  expect(parseDuration("5")).toBeUndefined();
  expect(parseDuration("s")).toBeUndefined();
});

describe("the alvd command", () => {
  test("a bad flag exits non-zero with a one-line message naming it", async () => {
    const r = await runAlvd(["server", "--server-grpc-port", "abc"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("--server-grpc-port");
  });

  test("help and version", async () => {
    const h = await runAlvd(["--help"]);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain("alvd server");
    const sh = await runAlvd(["server", "--help"]);
    expect(sh.stdout).toContain("--server-grpc-port");
    expect(sh.stdout).toContain("ALVD_SERVER_GRPC_PORT");
    const ah = await runAlvd(["agent", "--help"]);
    expect(ah.stdout).toContain("--index-path");
    expect(ah.stdout).not.toContain("--replicas");
    const v = await runAlvd(["version"]);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^alvd \d+\.\d+\.\d+ \(commit /);
    const u = await runAlvd(["serve"]);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('unknown command "serve"');
  });
});
