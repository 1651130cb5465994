// What `alvd types` gives editors: src/gen/alvd.d.ts, self-contained (a user has no
// node_modules), enough to check every example, and strict enough to catch mistakes.
import { afterAll, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, runAlvd } from "../lib/process";

const dir = mkdtempSync(join(tmpdir(), "alvd-types-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tsc(files: string[]): { code: number; out: string } {
  // a user's editor: the default libraries, no @types, no node_modules in reach
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { strict: true, noEmit: true, target: "ESNext", module: "ESNext", moduleResolution: "bundler", lib: ["ESNext", "DOM"], types: [] }, files }),
  );
  const r = Bun.spawnSync([join(ROOT, "node_modules/.bin/tsc"), "-p", join(dir, "tsconfig.json")], { cwd: dir, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
}

test("alvd types prints the generated declarations, and they check every example on their own", async () => {
  const r = await runAlvd(["types"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe(readFileSync(join(ROOT, "src/gen/alvd.d.ts"), "utf8"));
  writeFileSync(join(dir, "alvd.d.ts"), r.stdout);
  cpSync(join(ROOT, "examples"), join(dir, "examples"), { recursive: true });
  const examples = readdirSync(join(dir, "examples")).map((f) => `examples/${f}`);
  // an excess key is reported only in a literal without other errors, hence two files
  writeFileSync(join(dir, "typo.ts"), 'import { defineConfig } from "alvd";\nexport default defineConfig({ server: { replica: 2 } });\n');
  writeFileSync(
    join(dir, "wrong.ts"),
    `import { defineConfig } from "alvd";
export default defineConfig({
  server: { checkIndexInterval: 5000, searchResultInterceptor: (_c, results) => results.map((r) => r.id) },
  agent: { insertDataInterceptor() {} },
});
`,
  );
  // one compiler run (it takes seconds): the examples must be clean, the wrong files not
  const { out } = tsc(["alvd.d.ts", ...examples, "typo.ts", "wrong.ts"]);
  const errors = out.split("\n").filter((l) => /error TS/.test(l));
  expect(errors.filter((l) => !/^(typo|wrong)\.ts/.test(l))).toEqual([]);
  expect(out).toContain("'replica' does not exist in type 'ServerSection'");
  expect(out).toContain("Type 'number' is not assignable to type 'Duration");
  expect(out).toContain("Type 'string[]' is not assignable to type 'HookResult<SearchResult[]>'");
  expect(out).toContain("'insertDataInterceptor' does not exist in type 'AgentSettings'");
}, 60_000);
