// Flags of the self-healing cluster (server) and the `alvd drain` client command.
import { describe, expect, test } from "bun:test";
import { drainConfig, serverConfig } from "../../src/config/config";
import { ConfigError } from "../../src/config/parse";
import { freePort } from "../lib/ports";
import { runAlvd } from "../lib/process";

const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("expected a ConfigError");
};

describe("server: repair flags", () => {
  test("defaults", () => {
    expect(serverConfig([], {}).heal).toEqual({
      agentLostAfterMs: 60_000,
      repairRate: 1000,
      repairIntervalMs: 600_000,
      rebalance: true,
      replicaTimeoutMs: 1000,
      writeConsistency: 0,
    });
  });

  test("set by flag and env", () => {
    const h = serverConfig(["--agent-lost-after=30s", "--repair-rate", "0", "--rebalance=false", "--replica-timeout", "250ms", "--replicas=3", "--write-consistency=2"], { ALVD_REPAIR_INTERVAL: "1m" }).heal;
    expect(h).toEqual({ agentLostAfterMs: 30_000, repairRate: 0, repairIntervalMs: 60_000, rebalance: false, replicaTimeoutMs: 250, writeConsistency: 2 });
  });

  test("bad values name the flag", () => {
    expect(refusal(() => serverConfig(["--agent-lost-after", "0s"], {}))).toMatch(/^--agent-lost-after: expected a duration above 0/);
    expect(refusal(() => serverConfig(["--repair-rate", "-1"], {}))).toMatch(/^--repair-rate:/);
    expect(refusal(() => serverConfig(["--replica-timeout", "soon"], {}))).toMatch(/^--replica-timeout: expected a duration/);
    expect(refusal(() => serverConfig(["--replicas=2", "--write-consistency=3"], {}))).toMatch(/--write-consistency 3 is more than --replicas 2/);
  });
});

describe("alvd drain", () => {
  test("one agent name, the server's gateway address, --cancel", () => {
    expect(drainConfig(["agent-2"], {})).toEqual({ agent: "agent-2", server: { host: "127.0.0.1", port: 8080 }, cancel: false, apiKey: undefined, tls: undefined });
    expect(drainConfig(["--server", "db1:9000", "agent-2", "--cancel", "--api-key", "k1"], {})).toEqual({
      agent: "agent-2",
      server: { host: "db1", port: 9000 },
      cancel: true,
      apiKey: "k1",
      tls: undefined,
    });
    expect(drainConfig(["a", "--tls"], {}).tls).toEqual({ caFile: undefined });
    expect(drainConfig(["a", "--tls-ca-file", "/ca.pem"], { ALVD_API_KEY: "k2" })).toMatchObject({ apiKey: "k2", tls: { caFile: "/ca.pem" } });
    expect(refusal(() => drainConfig([], {}))).toMatch(/takes one agent name \(got none\)/);
    expect(refusal(() => drainConfig(["a", "b"], {}))).toMatch(/takes one agent name/);
    expect(refusal(() => drainConfig(["a", "--replicas", "2"], {}))).toMatch(/unknown flag --replicas for alvd drain/);
  });

  test("a server that is not there: exit 1, one line saying what to check", async () => {
    const port = await freePort();
    const r = await runAlvd(["drain", "agent-1", "--server", `127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(`cannot reach the server at 127.0.0.1:${port}`);
    const h = await runAlvd(["drain", "--help"]);
    expect(h.stdout).toContain("Usage: alvd drain NAME");
    expect(h.stdout).toContain("--cancel");
  });
});
