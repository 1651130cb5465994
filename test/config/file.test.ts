// --config files: alvd's layout from TypeScript, JavaScript, JSON and YAML, checked by
// the flags' own schemas, with the file and key in every message.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { agentConfig, serverConfig } from "../../src/config/config";
import { loadConfigFile } from "../../src/config/file";
import { ConfigError } from "../../src/config/parse";
import { runAlvd } from "../lib/process";

const dir = mkdtempSync(join(tmpdir(), "alvd-config-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(ext: string, text: string): string {
  const p = join(dir, `c${n++}${ext}`);
  writeFileSync(p, text);
  return p;
}

async function refusal(path: string, argv: string[] = [], command: "server" | "agent" = "server"): Promise<string> {
  try {
    const f = await loadConfigFile(path);
    if (command === "server") serverConfig(["--config", path, ...argv], {}, f);
    else agentConfig(["--config", path, ...argv], {}, f);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error(`${path} was accepted`);
}

describe("layout and formats", () => {
  test("a TypeScript file with imports: server settings, the agent section for the embedded agent, flags and env above it", async () => {
    file(".ts", 'export const PORT: number = 9100;\n');
    const path = file(
      ".ts",
      `import { defineConfig } from "alvd";
import { PORT } from "./c${n - 1}";
export default defineConfig({
  server: { replicas: 2, serverGrpcPort: PORT, checkIndexInterval: "1m30s", dimension: 16, apiKey: ["a", "b"], token: "t", searchResultInterceptor() {} },
  agent: { dimension: 32, grpcPort: 9200, tunnelTls: true },
});
`,
    );
    const f = await loadConfigFile(path);
    const c = serverConfig([], {}, f);
    expect(c.replicas).toBe(2);
    expect(c.gateway.port).toBe(9100);
    expect(c.checkIndexIntervalMs).toBe(90_000);
    expect(c.security.keys.readWrite).toEqual(["a", "b"]);
    expect(c.agent.index.dimension).toBe(32); // the embedded agent: agent section first
    expect(c.agent.grpc.port).toBe(9200);
    expect(Object.keys(c.hooks.hooks)).toEqual(["searchResultInterceptor"]);
    expect(c.hooks.file).toBe(path);
    const over = serverConfig(["--replicas", "3"], { ALVD_SERVER_GRPC_PORT: "9300", ALVD_DIMENSION: "8" }, f);
    expect(over.replicas).toBe(3);
    expect(over.gateway.port).toBe(9300);
    expect(over.agent.index.dimension).toBe(8);
    // alvd agent reads only the agent section
    const a = agentConfig([], {}, f);
    expect(a.index.dimension).toBe(32);
    expect(a.tunnelTls.force).toBe(true);
    expect(a.grpc.port).toBe(9200);
  });

  test("the embedded agent falls back to the server section", async () => {
    const f = await loadConfigFile(file(".mjs", "export default { server: { dimension: 24, indexPath: 'data' } };\n"));
    const c = serverConfig([], {}, f);
    expect(c.agent.index.dimension).toBe(24);
    expect(c.agent.index.indexPath).toBe("data");
  });

  test("JSON and YAML take the same nested layout", async () => {
    const yaml = file(".yaml", "# alvd\nserver:\n  replicas: 2\n  serverGrpcPort: 8181 # gateway\n  rebalance: false\nagent:\n  dimension: 128\n  server: [a:1, b:2]\n");
    const y = serverConfig([], {}, await loadConfigFile(yaml));
    expect(y.replicas).toBe(2);
    expect(y.gateway.port).toBe(8181);
    expect(y.heal.rebalance).toBe(false);
    expect(y.agent.index.dimension).toBe(128);
    expect(agentConfig([], {}, await loadConfigFile(yaml)).servers).toEqual([
      { host: "a", port: 1 },
      { host: "b", port: 2 },
    ]);
    const json = file(".json", JSON.stringify({ server: { objectType: "float16", replicas: 5 } }));
    const j = serverConfig(["--replicas", "1"], {}, await loadConfigFile(json));
    expect(j.agent.index.quantization).toBe("f16");
    expect(j.replicas).toBe(1);
    expect(serverConfig([], {}, await loadConfigFile(file(".yml", ""))).replicas).toBe(3);
  });
});

describe("mistakes name the file and the key", () => {
  test("values go through the flags' schemas", async () => {
    const p = file(".yaml", "server:\n  replicas: 0\n");
    expect(await refusal(p)).toBe(`${p}: server.replicas (--replicas): expected an integer from 1 to 1000 (got "0")`);
    const q = file(".ts", 'export default { server: { checkIndexInterval: 5000 } };\n');
    expect(await refusal(q)).toStartWith(`${q}: server.checkIndexInterval (--check-index-interval): expected a duration`);
    const r = file(".json", JSON.stringify({ agent: { dimension: { n: 3 } } }));
    expect(await refusal(r)).toBe(`${r}: agent.dimension (--dimension): expected a string, number or boolean`);
    const s = file(".json", JSON.stringify({ agent: { distanceType: "manhattan" } }));
    expect(await refusal(s, [], "agent")).toStartWith(`${s}: agent.distanceType (--distance-type): expected one of`);
  });

  test("unknown keys, with the camelCase spelling when that is all that is wrong", async () => {
    const p = file(".yaml", "server:\n  replcas: 2\n");
    expect(await refusal(p)).toBe(`${p}: server.replcas: unknown setting for alvd server`);
    const q = file(".yaml", "server:\n  server_grpc_port: 1\n");
    expect(await refusal(q)).toBe(`${q}: server.server_grpc_port: unknown setting for alvd server (write it as serverGrpcPort)`);
    const r = file(".yaml", "agent:\n  replicas: 2\n");
    expect(await refusal(r)).toBe(`${r}: agent.replicas: unknown setting for alvd agent`);
    const s = file(".yaml", "server:\n  config: other.yaml\n");
    expect(await refusal(s)).toContain("a config file cannot name another");
    const t = file(".json", JSON.stringify({ servers: {} }));
    expect(await refusal(t)).toBe(`--config: ${t}: unknown key "servers" (expected server and agent sections)`);
  });

  test("the old flat layout is refused with the way to write it", async () => {
    const p = file(".yaml", "replicas: 2\nserver_grpc_port: 8181\n");
    expect(await refusal(p)).toBe(`--config: ${p}: "replicas" is at the top level; settings go in a server or agent section, e.g. server: { replicas: ... }`);
    const q = file(".json", JSON.stringify({ "check-index-interval": "1s" }));
    expect(await refusal(q)).toContain("server: { checkIndexInterval: ... }");
  });

  test("hooks: functions, in the server section only", async () => {
    const p = file(".ts", "export default { agent: { insertDataInterceptor() {} } };\n");
    expect(await refusal(p, [], "agent")).toBe(`${p}: agent.insertDataInterceptor: hooks go in the server section`);
    const q = file(".ts", "export default { server: { vectorizer: 'openai' } };\n");
    expect(await refusal(q)).toBe(`${q}: server.vectorizer: expected a function`);
  });

  test("files that do not load", async () => {
    const p = file(".ts", "export const x = 1;\n");
    expect(await refusal(p)).toContain("has no default export");
    const q = file(".ts", "export default { server: { replicas: 2 ;\n");
    expect(await refusal(q)).toStartWith(`--config: ${q} failed to load:`);
    const r = file(".ts", "throw new Error('no database');\nexport default {};\n");
    expect(await refusal(r)).toBe(`--config: ${r} failed to load: no database`);
    const s = file(".yaml", "server: [unclosed\n");
    expect(await refusal(s)).toStartWith(`--config: ${s} is not valid YAML`);
    const t = file(".json", "{ server: 1 }");
    expect(await refusal(t)).toStartWith(`--config: ${t} is not valid JSON`);
    const u = file(".toml", "x = 1\n");
    expect(await refusal(u)).toBe(`--config: ${u}: expected a .ts, .js, .mjs, .json, .yaml or .yml file`);
    expect(await refusal(join(dir, "missing.yaml"))).toBe(`--config: cannot read ${join(dir, "missing.yaml")}: ENOENT`);
    const v = file(".json", "[1, 2]");
    expect(await refusal(v)).toBe(`--config: ${v}: expected an object with server and agent sections`);
  });

  test("alvd server --config with a mistake exits 2 with one line", async () => {
    const p = file(".ts", 'import { defineConfig } from "alvd";\nexport default defineConfig({ server: { replicas: 0 } });\n');
    const r = await runAlvd(["server", "--config", p]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([`alvd: ${p}: server.replicas (--replicas): expected an integer from 1 to 1000 (got "0")`]);
    const e = await runAlvd(["agent"], { env: { ALVD_CONFIG: file(".yaml", "agent:\n  dimension: one\n") } });
    expect(e.code).toBe(2);
    expect(e.stderr).toContain("agent.dimension (--dimension): expected an integer");
  });
});

test("examples/config.ts sets every flag of alvd server and alvd agent", async () => {
  const { flagsFor } = await import("../../src/config/flags");
  const f = await loadConfigFile(join(import.meta.dir, "../../examples/config.ts"));
  const camel = (s: string) => s.replace(/-([a-z])/g, (_, ch: string) => ch.toUpperCase());
  const server = new Set([...Object.keys(f.sections.server), ...Object.keys(f.sections.agent)]);
  const missing = (cmd: "server" | "agent", have: Set<string>) => flagsFor(cmd).filter((n) => n !== "config" && !have.has(camel(n)));
  expect(missing("server", server)).toEqual([]);
  expect(missing("agent", new Set(Object.keys(f.sections.agent)))).toEqual([]);
  // and every value is valid for both commands
  serverConfig([], {}, f);
  agentConfig([], {}, f);
});
