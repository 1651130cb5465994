// `bun run bench <name> [flags]`: one entry point for every benchmark.
const benches: Record<string, () => Promise<(argv: string[]) => Promise<void>>> = {
  agent: async () => (await import("./agent")).benchAgent,
  gateway: async () => (await import("./gateway")).benchGateway,
  dist: async () => (await import("./dist")).benchDist,
  cli: async () => (await import("./cli")).benchCli,
  backup: async () => (await import("./backup")).benchBackup,
  heal: async () => (await import("./heal")).benchHeal,
  perf: async () => (await import("./perf")).benchPerf,
  hooks: async () => (await import("./hooks")).benchHooks,
  scale: async () => (await import("./scale")).benchScale,
};

const [name, ...rest] = process.argv.slice(2);
const load = name ? benches[name] : undefined;
if (!load) {
  process.stderr.write(`usage: bun run bench <${Object.keys(benches).join("|")}> [--quick]\n`);
  process.exit(2);
}
await (await load())(rest);
export {};
