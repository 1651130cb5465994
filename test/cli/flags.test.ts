// The client commands' flags: valdcli's short names, positional arguments, which flags
// the environment may set, and messages that name the flag (never a key).
import { describe, expect, test } from "bun:test";
import { CLIENT_COMMANDS, CLIENT_FLAGS, type ClientValues } from "../../src/config/client-flags";
import { serverConfig } from "../../src/config/config";
import { ConfigError, parseCommandLine } from "../../src/config/parse";
import { connectionOf } from "../../src/cli/connection";

const parse = (command: string, argv: string[], env: Record<string, string> = {}) => {
  const r = parseCommandLine(CLIENT_FLAGS, command, argv, env);
  return { f: r.values as ClientValues, args: r.args };
};
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error("no refusal");
};

describe("client flags", () => {
  test("valdcli's short names, in both spellings, around positional arguments", () => {
    const { f, args } = parse("search", ["-h", "db1", "-p=9000", "[1,2]", "-n", "3", "-r", "-1", "-e", "0.5", "-j"]);
    expect([f.host, f.port, f.num, f.radius, f.epsilon, f.json]).toEqual(["db1", 9000, 3, -1, 0.5, true]);
    expect(args).toEqual(["[1,2]"]);
    const r = parse("rand-vecs", ["-d", "784", "-n", "100", "--with-ids"]).f;
    expect([r.dimension, r.number, r["with-ids"]]).toEqual([784, 100, true]);
    // after "--" everything is an argument, even what looks like a flag
    expect(parse("remove", ["--", "-odd-id", "--also"]).args).toEqual(["-odd-id", "--also"]);
  });

  test("defaults, and per-command defaults", () => {
    expect(parse("get", []).f).toMatchObject({ host: "localhost", port: 8080, timeout: 30_000, json: false });
    expect(parse("index", []).f.timeout).toBe(600_000);
    expect(parse("load", []).f).toMatchObject({ window: 128, "max-errors": 100, skip: 0, limit: 0, format: "auto", progress: "auto" });
  });

  test("connection flags come from ALVD_* too; command options never do", () => {
    const env = { ALVD_HOST: "envhost", ALVD_PORT: "7000", ALVD_API_KEY: "k1,k2", ALVD_YES: "true", ALVD_NUM: "99", ALVD_WINDOW: "1" };
    expect(parse("flush", [], env).f).toMatchObject({ host: "envhost", port: 7000, yes: false });
    expect(parse("search", ["-p", "7100"], env).f).toMatchObject({ port: 7100, num: 10 });
    expect(connectionOf(parse("load", [], env).f).apiKey).toBe("k1"); // a server's key list: the first
  });

  test("TLS options: any of them means TLS; a certificate needs its key", () => {
    expect(connectionOf(parse("get", []).f).tls).toBeUndefined();
    expect(connectionOf(parse("get", ["--tls"]).f).tls).toBeDefined();
    expect(connectionOf(parse("get", ["--tls-ca-file", "/ca.pem"]).f).tls?.caFile).toBe("/ca.pem");
    expect(refusal(() => connectionOf(parse("get", ["--tls-cert-file", "/c.pem"]).f))).toMatch(/--tls-cert-file and --tls-key-file go together/);
  });

  test("mistakes name the flag; a key is never repeated", () => {
    expect(refusal(() => parse("search", ["-n", "0"]))).toMatch(/^--num: expected an integer from 1/);
    expect(refusal(() => parse("search", ["-x"]))).toBe("unknown flag -x for alvd search (see alvd search --help)");
    expect(refusal(() => parse("rand-vecs", ["-h", "x"]))).toMatch(/unknown flag -h for alvd rand-vecs/);
    expect(refusal(() => parse("load", ["--progress", "fancy"]))).toMatch(/^--progress: expected one of: auto, bar, log, none/);
    expect(refusal(() => parse("get", ["--api-key", "has space"]))).not.toContain("has space");
  });

  test("every short name is unique within each command", () => {
    for (const command of Object.keys(CLIENT_COMMANDS)) {
      const shorts = Object.values(CLIENT_FLAGS)
        .filter((s) => (s.commands as readonly string[]).includes(command) && "short" in s)
        .map((s) => (s as { short?: string }).short);
      expect({ command, shorts: new Set(shorts).size }).toEqual({ command, shorts: shorts.length });
    }
  });

  test("the server's parser is unchanged: no short flags, no arguments", () => {
    expect(refusal(() => serverConfig(["-p", "1"], {}))).toBe('unexpected argument "-p" for alvd server (see alvd server --help)');
    expect(refusal(() => serverConfig(["extra"], {}))).toBe('unexpected argument "extra" for alvd server (see alvd server --help)');
  });
});
