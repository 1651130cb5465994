import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { renderReadme } from "../../scripts/readme-flags";

test("README flag tables match the CLI definition (bun scripts/readme-flags.ts)", () => {
  const readme = readFileSync(resolve(import.meta.dir, "../../README.md"), "utf8");
  expect(readme).toContain("<!-- alvd:flags:server -->");
  expect(readme).toContain("<!-- alvd:flags:agent -->");
  expect(readme).toContain("<!-- alvd:flags:client -->");
  expect(readme).toContain("<!-- alvd:flags:drain -->");
  expect(renderReadme(readme)).toBe(readme);
});
