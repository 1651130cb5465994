#!/usr/bin/env bun
// Release build: one self-contained `bun build --compile` binary per Linux target, plus
// a release archive per target (tar.xz by default) and SHA256SUMS.
//
//   bun build.ts [--target linux-x64|linux-x64-baseline|linux-arm64|all] [--no-bytecode] [--archive xz|gz|none]
//
// Why it looks like this:
//  - Bun downloads cross-compile runtimes itself, which fails offline; we fetch the same
//    runtimes as npm packages (`npm pack @oven/bun-linux-*@<our bun version>`) and pass
//    them as the executable, so the build needs only the npm registry (or nothing, once
//    dist/.runtimes/ is filled).
//  - The runtime must be the exact version of the bun that bundles: --bytecode output is
//    only valid for the JavaScriptCore that produced it.
//  - The native addon is embedded by src/index/addon.ts's static require() of
//    native/build/{simd,plain}/; the arm64 build cross-compiles its own addons and
//    redirects those paths to them. We check the addons are for the right machine before
//    compiling and that exactly those got embedded after, because a missing or wrong-arch
//    addon is only noticed when the binary starts.
//  - Never strip the output: the JS payload lives in a section strip removes.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliCompressSync, constants as zlibConstants } from "node:zlib";
import { trimmedNumkongSources } from "./native/numkong-trim";
import { buildConsole } from "./src/console/build";

export const TARGETS = {
  "linux-x64": { bunTarget: "bun-linux-x64-modern", runtimePkg: "@oven/bun-linux-x64", machine: "x86-64", addonDirs: ["simd", "plain"] },
  "linux-x64-baseline": { bunTarget: "bun-linux-x64-baseline", runtimePkg: "@oven/bun-linux-x64-baseline", machine: "x86-64", addonDirs: ["simd", "plain"] },
  "linux-arm64": { bunTarget: "bun-linux-arm64", runtimePkg: "@oven/bun-linux-aarch64", machine: "aarch64", addonDirs: ["arm64-simd", "arm64-plain"] },
} as const;
export type TargetName = keyof typeof TARGETS;

const ROOT = import.meta.dir;
const DIST = join(ROOT, "dist");
const RUNTIMES = join(DIST, ".runtimes");

export interface BuildResult {
  target: TargetName;
  binary: string;
  archive?: string;
  bytes: number;
  archiveBytes?: number;
  version: string;
  commit: string;
  seconds: number;
}

class BuildError extends Error {}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, encoding: "utf8" });
  if (r.error) throw new BuildError(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new BuildError(`${cmd} ${args.join(" ")} exited ${r.status}\n${r.stderr}`);
  return r.stdout;
}

/** dist/<releaseName>/alvd is the binary, dist/<releaseName>.tar.xz its archive (the Dockerfile copies from there). */
export function releaseName(version: string, target: TargetName): string {
  return `alvd-${version}-${target}`;
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
}

/** Short commit, "+dirty" when tracked files differ from HEAD; "unknown" outside git (e.g. a docker build without .git). */
export function gitCommit(): string {
  const head = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" });
  if (head.status !== 0) return process.env.ALVD_COMMIT ?? "unknown";
  // Untracked files (other people's work in progress, build output) don't make a build dirty; edits to tracked files do.
  const dirty = spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: ROOT, encoding: "utf8" });
  return head.stdout.trim() + (dirty.stdout.trim() ? "+dirty" : "");
}

const ELF_MACHINES: Record<number, string> = { 0x3e: "x86-64", 0xb7: "aarch64" };

/** The ELF e_machine of a file, or undefined when it isn't a 64-bit little-endian ELF. */
export function elfMachine(path: string): string | undefined {
  const b = readFileSync(path).subarray(0, 20);
  if (b.length < 20 || b[0] !== 0x7f || b[1] !== 0x45 || b[2] !== 0x4c || b[3] !== 0x46 || b[4] !== 2 || b[5] !== 1) return undefined;
  const m = b.readUInt16LE(18);
  return ELF_MACHINES[m] ?? `machine 0x${m.toString(16)}`;
}

/** The target's bun runtime at our exact bun version, from node_modules or the npm registry (cached). */
export function runtimeFor(target: TargetName): string {
  const { runtimePkg } = TARGETS[target];
  const version = Bun.version;
  // The host platform's package is already installed as an optional dependency of `bun`.
  const installed = join(ROOT, "node_modules", runtimePkg);
  if (existsSync(join(installed, "bin", "bun"))) {
    const v = (JSON.parse(readFileSync(join(installed, "package.json"), "utf8")) as { version: string }).version;
    if (v === version) return join(installed, "bin", "bun");
  }
  const dir = join(RUNTIMES, `${runtimePkg.replace("@oven/", "")}-${version}`);
  const bin = join(dir, "package", "bin", "bun");
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  console.log(`fetching ${runtimePkg}@${version} (npm pack)`);
  const out = run("npm", ["pack", `${runtimePkg}@${version}`, "--pack-destination", dir, "--silent"]).trim().split("\n").pop()!;
  run("tar", ["-xzf", join(dir, out), "-C", dir]);
  rmSync(join(dir, out));
  if (!existsSync(bin)) throw new BuildError(`${runtimePkg}@${version} has no bin/bun`);
  chmodSync(bin, 0o755);
  return bin;
}

// ---- linux-arm64 addon: cross-compiled here with Debian's aarch64 toolchain.
// native/build.ts builds the host's flavours; for arm64 we repeat its recipe with the
// cross compilers into native/build/arm64-{simd,plain}, cached by a hash of the inputs
// (NumKong takes ~3 CPU-minutes, alvd_index.cc ~30 s per flavour).

const NK_DEFINES = ["-DNK_DYNAMIC_DISPATCH=1", "-DNK_NATIVE_F16=0", "-DNK_NATIVE_BF16=0"];
const NATIVE_WARNINGS = ["-Wno-unknown-pragmas", "-Wno-maybe-uninitialized", "-Wno-psabi"];
const ARM64_LINK = (exportsMap: string) => [`-Wl,--version-script=${exportsMap}`, "-static-libstdc++", "-s"];
// NumKong ISA families the aarch64 build compiles in (dispatched from the CPU at run time).
// Left out: NEONSDOT (GCC 12 cannot inline vdotq_s32 in NumKong's maxsim kernels:
// "target specific option mismatch"), NEONBFDOT/SVEBFDOT (GCC 12 lacks the bf16 probes).
const ARM64_NK_TARGETS = ["NEON", "NEONHALF", "NEONFHM", "SVE", "SVEHALF", "SVESDOT", "SVE2"];
const NK_ALL_TARGETS = ["HASWELL", "SKYLAKE", "ICELAKE", "GENOA", "SAPPHIRE", "SAPPHIREAMX", "GRANITEAMX", "DIAMOND", "TURIN",
  "ALDER", "SIERRA", "NEON", "NEONHALF", "NEONSDOT", "NEONBFDOT", "NEONFHM", "SVE", "SVEHALF", "SVEBFDOT", "SVESDOT", "SVE2"];

function nodeApiHeaders(): string {
  const dirs = [process.env.ALVD_NODE_HEADERS, "/usr/include/node", "/usr/local/include/node"];
  const node = spawnSync("node", ["-p", "process.execPath"], { encoding: "utf8" }).stdout?.trim();
  if (node) dirs.push(join(node, "..", "..", "include", "node"));
  const found = dirs.find((d) => d && existsSync(join(d, "node_api.h")));
  if (!found) throw new BuildError("linux-arm64 addon: Node-API headers (node_api.h) not found; set ALVD_NODE_HEADERS");
  return found;
}

async function pooled(jobs: (() => Promise<void>)[], width: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, async () => {
    while (next < jobs.length) await jobs[next++]!();
  }));
}

async function runAsync(cmd: string[], label: string): Promise<void> {
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new BuildError(`${label} failed (exit ${code}):\n${cmd.join(" ")}\n${err.slice(-3000)}`);
}

export async function ensureArm64Addons(): Promise<void> {
  const cc = process.env.ALVD_ARM64_CC ?? "aarch64-linux-gnu-gcc";
  const cxx = process.env.ALVD_ARM64_CXX ?? "aarch64-linux-gnu-g++";
  for (const tool of [cc, cxx]) {
    if (!Bun.which(tool)) {
      throw new BuildError(`linux-arm64 needs the aarch64 cross compilers (${cc}, ${cxx}): apt-get install -y g++-aarch64-linux-gnu`);
    }
  }
  const usearch = join(ROOT, "node_modules", "usearch");
  const nk = join(usearch, "numkong");
  const addonApi = join(ROOT, "node_modules", "node-addon-api");
  const source = join(ROOT, "native", "alvd_index.cc");
  if (!existsSync(source) || !existsSync(nk) || !existsSync(addonApi)) throw new BuildError("linux-arm64 addon: native/alvd_index.cc, usearch or node-addon-api missing (npm ci)");
  const headers = nodeApiHeaders();
  const usearchVersion = (JSON.parse(readFileSync(join(usearch, "package.json"), "utf8")) as { version: string }).version;
  const ccId = run(cc, ["--version"]).split("\n")[0]!;
  const jobs = Math.max(1, Number(process.env.ALVD_NATIVE_JOBS) || navigator.hardwareConcurrency || 2);

  // NumKong objects, shared by every alvd_index.cc edit
  const sources = readdirSync(join(nk, "c")).filter((f) => f === "numkong.c" || /^dispatch_.*\.c$/.test(f)).sort();
  const nkKey = createHash("sha256").update([usearchVersion, ccId, ...NK_DEFINES, ...ARM64_NK_TARGETS, ...sources].join("\0"))
    .update(readFileSync(join(ROOT, "native", "numkong-trim.ts"))).digest("hex").slice(0, 16);
  const nkDir = join(ROOT, "native", "build", "arm64-numkong", nkKey);
  const probes = join(nkDir, "nk_probes.h");
  const objects = sources.map((f) => join(nkDir, f.replace(/\.c$/, ".o")));
  const probeHeader = NK_ALL_TARGETS.map((t) => `#define NK_TARGET_${t} ${ARM64_NK_TARGETS.includes(t) ? 1 : 0}`).join("\n") + "\n";
  if (!objects.every((o) => existsSync(o))) {
    rmSync(join(ROOT, "native", "build", "arm64-numkong"), { recursive: true, force: true });
    mkdirSync(nkDir, { recursive: true });
    writeFileSync(probes, probeHeader);
    const inputs = trimmedNumkongSources(join(nk, "c"), sources, join(nkDir, "src"));
    console.log(`  [arm64 addon] compiling NumKong (${sources.length} files, ${jobs} jobs) with ${ccId}`);
    await pooled(sources.map((f, i) => async () => {
      const tmp = `${objects[i]!}.tmp`;
      await runAsync([cc, "-std=c11", "-O3", "-fPIC", "-fvisibility=hidden", ...NATIVE_WARNINGS, ...NK_DEFINES,
        "-include", probes, "-I", join(nk, "include"), "-I", join(nk, "c"), "-c", inputs[i]!, "-o", tmp], `arm64 NumKong ${f}`);
      renameSync(tmp, objects[i]!);
    }), jobs);
  }

  if (!existsSync(probes)) writeFileSync(probes, probeHeader);
  await pooled((["plain", "simd"] as const).map((flavour) => async () => {
    const outDir = join(ROOT, "native", "build", `arm64-${flavour}`);
    const out = join(outDir, "alvd_index.node");
    const defines = flavour === "simd" ? ["-DUSEARCH_USE_NUMKONG=1", ...NK_DEFINES, "-include", probes, "-I", join(nk, "include")] : ["-DUSEARCH_USE_NUMKONG=0"];
    const key = createHash("sha256").update(readFileSync(source)).update(readFileSync(join(ROOT, "native", "reachability.hpp"))).update([usearchVersion, ccId, nkKey, ...defines.filter((d) => d !== probes), ...ARM64_LINK("exports.map")].join("\0")).digest("hex").slice(0, 16);
    const stamp = join(outDir, "stamp");
    if (existsSync(out) && existsSync(stamp) && readFileSync(stamp, "utf8") === key) return;
    mkdirSync(outDir, { recursive: true });
    // same link recipe as native/build.ts: only the N-API entry points exported, static libstdc++
    const exportsMap = join(outDir, "exports.map");
    writeFileSync(exportsMap, "{ global: napi_register_module_v1; node_api_module_get_api_version_v1; local: *; };\n");
    console.log(`  [arm64 addon] compiling ${flavour} alvd_index.cc`);
    await runAsync([cxx, "-std=c++17", "-O3", "-fPIC", "-shared", "-fexceptions", "-fvisibility=hidden", ...NATIVE_WARNINGS,
      "-DNAPI_VERSION=8", "-DUSEARCH_USE_OPENMP=0", ...defines, "-I", addonApi, "-I", headers, "-I", join(usearch, "include"),
      source, ...(flavour === "simd" ? objects : []), "-o", `${out}.tmp`, ...ARM64_LINK(exportsMap)], `arm64 ${flavour} addon`);
    renameSync(`${out}.tmp`, out);
    writeFileSync(stamp, key);
  }), jobs);
}

// brotli at its best setting: packing runs once per build, unpacking once per start
function packAddon(b: Uint8Array): Buffer {
  return brotliCompressSync(b, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11, [zlibConstants.BROTLI_PARAM_LGWIN]: 24, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: b.byteLength } });
}

/**
 * Swaps src/index/addon-require.ts for one that embeds the target's two addons
 * brotli-packed and unpacks the one asked for at start (src/index/addon-packed.ts):
 * 1.06 MB of addons become 0.35 MB of binary (gzip -9 left 0.42 MB, and brotli
 * unpacks faster).
 */
function packedAddons(target: TargetName): import("bun").BunPlugin {
  const dir = join(DIST, `.addons-${target}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const [simd, plain] = TARGETS[target].addonDirs.map((d) => {
    const out = join(dir, `${d}.node.br`);
    writeFileSync(out, packAddon(readFileSync(join(ROOT, "native", "build", d, "alvd_index.node"))));
    return out;
  });
  const generated = [
    `import { loadPackedAddon } from ${JSON.stringify(join(ROOT, "src", "index", "addon-packed.ts"))};`,
    `import simd from ${JSON.stringify(simd)} with { type: "file" };`,
    `import plain from ${JSON.stringify(plain)} with { type: "file" };`,
    `export function requireAddon(flavour) { return loadPackedAddon(flavour === "simd" ? simd : plain, flavour); }`,
  ].join("\n");
  return {
    name: "alvd-packed-addons",
    setup(b) {
      b.onLoad({ filter: /[\\/]src[\\/]index[\\/]addon-require\.ts$/ }, () => ({ contents: generated, loader: "js" }));
    },
  };
}

/** The binary must carry exactly the addons of its architecture: a wrong one only fails when a user starts it. */
function checkEmbedded(target: TargetName, binary: string): void {
  const bin = readFileSync(binary);
  // the addons travel brotli-packed (packedAddons): look for their compressed bytes
  const probe = (p: string) => {
    const b = packAddon(readFileSync(p));
    const at = b.length >> 1;
    return bin.indexOf(b.subarray(at, Math.min(b.length, at + 65536))) >= 0;
  };
  for (const d of TARGETS[target].addonDirs) {
    if (!probe(join(ROOT, "native", "build", d, "alvd_index.node"))) throw new BuildError(`${target}: native/build/${d}/alvd_index.node is not embedded in the binary`);
  }
  for (const t of Object.keys(TARGETS) as TargetName[]) {
    if (TARGETS[t].machine === TARGETS[target].machine) continue;
    for (const d of TARGETS[t].addonDirs) {
      const p = join(ROOT, "native", "build", d, "alvd_index.node");
      if (existsSync(p) && probe(p)) throw new BuildError(`${target}: the ${t} addon native/build/${d} was embedded too`);
    }
  }
}

function checkAddons(target: TargetName): void {
  const { addonDirs, machine } = TARGETS[target];
  for (const d of addonDirs) {
    const p = join(ROOT, "native", "build", d, "alvd_index.node");
    if (!existsSync(p)) {
      throw new BuildError(`${target}: native addon ${p} is missing (run \`bun native/build.ts\`)`);
    }
    const m = elfMachine(p);
    if (m !== machine) throw new BuildError(`${target}: ${p} is built for ${m}, not ${machine}`);
  }
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/**
 * Hash of everything that goes into a target's binary (sources, addons, package.json,
 * this script, the bun version and options): tests and benchmarks reuse dist/ when it
 * matches instead of rebuilding.
 */
export function sourceHash(target: TargetName, opts: { bytecode?: boolean } = {}): string {
  const h = createHash("sha256").update(`${target} ${Bun.version} bytecode=${opts.bytecode ?? true}\0`);
  const files = [
    // the console's built files derive from the sources hashed here
    ...filesUnder(join(ROOT, "src")).filter((f) => !f.startsWith(join(ROOT, "src", "console", "dist"))),
    join(ROOT, "package.json"),
    join(ROOT, "build.ts"),
    ...TARGETS[target].addonDirs.map((d) => join(ROOT, "native", "build", d, "alvd_index.node")),
  ].sort();
  for (const f of files) {
    h.update(f.slice(ROOT.length)).update("\0");
    h.update(existsSync(f) ? readFileSync(f) : "(missing)").update("\0");
  }
  return h.digest("hex").slice(0, 20);
}

export function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

export type ArchiveFormat = "xz" | "gz";

/**
 * Byte-reproducible archive: fixed order, owner and mtime (the commit time).
 * xz by default: the bun runtime inside compresses to ~52 MiB with gzip -9 but ~39 MiB
 * with xz -9, and the release budget is 45 MB.
 */
function archive(dirName: string, format: ArchiveFormat): string {
  const out = join(DIST, `${dirName}.tar.${format}`);
  // an archive in the other format would be from an older build
  for (const f of ["gz", "xz"]) rmSync(join(DIST, `${dirName}.tar.${f}`), { force: true });
  const epoch = spawnSync("git", ["log", "-1", "--format=%ct"], { cwd: ROOT, encoding: "utf8" }).stdout.trim() || "0";
  rmSync(join(DIST, `${dirName}.tar`), { force: true });
  run("tar", ["--sort=name", `--mtime=@${epoch}`, "--owner=0", "--group=0", "--numeric-owner", "-cf", `${dirName}.tar`, dirName], { cwd: DIST });
  // compress to a temporary name: a concurrent build writing SHA256SUMS must never see a half-written archive
  const tmp = `${out}.partial`;
  const fd = openSync(tmp, "w");
  try {
    // gzip -n: no name/time in the header, so equal inputs give equal archives
    const args = format === "xz" ? ["-9", "-T1", "-c", `${dirName}.tar`] : ["-9", "-n", "-c", `${dirName}.tar`];
    const r = spawnSync(format === "xz" ? "xz" : "gzip", args, { cwd: DIST, stdio: ["ignore", fd, "pipe"] });
    if (r.status !== 0) throw new BuildError(`${format} failed: ${r.error?.message ?? r.stderr}`);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, out);
  rmSync(join(DIST, `${dirName}.tar`));
  return out;
}

function writeChecksums(version: string): void {
  const names = readdirSync(DIST)
    .filter((n) => n.startsWith(`alvd-${version}-`) && /\.tar\.(gz|xz)$/.test(n))
    .sort();
  writeFileSync(join(DIST, "SHA256SUMS"), names.map((n) => `${sha256(join(DIST, n))}  ${n}\n`).join(""));
}

/** Runs the fresh binary away from the repo, so a build that still reads node_modules fails here and not at a user's. */
function smokeTest(target: TargetName, binary: string, expect: { version: string; commit: string }): void {
  const machine = TARGETS[target].machine;
  const hostMachine = process.arch === "arm64" ? "aarch64" : "x86-64";
  let cmd = binary;
  let args = ["version"];
  if (machine !== hostMachine) {
    const qemu = machine === "aarch64" ? "qemu-aarch64-static" : undefined;
    const sysroot = "/usr/aarch64-linux-gnu";
    if (!qemu || spawnSync("which", [qemu]).status !== 0) {
      console.log(`  (not smoke-tested: ${target} can't run on this ${hostMachine} host without ${qemu ?? "an emulator"})`);
      return;
    }
    cmd = qemu;
    args = ["-L", sysroot, binary, "version"];
  }
  const cwd = mkdtempSync(join(tmpdir(), "alvd-smoke-"));
  try {
    const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { PATH: "/usr/bin:/bin", HOME: cwd, TMPDIR: cwd }, timeout: 60_000 });
    const out = `${r.stdout}${r.stderr}`;
    if (r.status !== 0 || !out.includes(expect.version) || !out.includes(expect.commit)) {
      throw new BuildError(`${target}: smoke test failed (exit ${r.status}):\n${out}`);
    }
    console.log(`  smoke: ${out.trim()}`);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

export async function buildTarget(
  target: TargetName,
  opts: { bytecode?: boolean; archive?: ArchiveFormat | "none"; commit?: string } = {},
): Promise<BuildResult> {
  const t0 = performance.now();
  if (target === "linux-arm64") await ensureArm64Addons();
  const hash = sourceHash(target, { bytecode: opts.bytecode });
  const version = packageVersion();
  const commit = opts.commit ?? gitCommit();
  checkAddons(target);
  const executablePath = runtimeFor(target);
  const dirName = releaseName(version, target);
  const outDir = join(DIST, dirName);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const binary = join(outDir, "alvd");
  const bytecode = opts.bytecode ?? true;
  // the web console's files, embedded by src/console/pages.ts
  await buildConsole();
  const define = {
    ALVD_VERSION: JSON.stringify(version),
    ALVD_COMMIT: JSON.stringify(commit),
    ALVD_BUILD_TARGET: JSON.stringify(target),
  };
  const result = await Bun.build({
    entrypoints: [join(ROOT, "src", "main.ts")],
    // src/index/addon-require.ts names the host's addons by literal path; this plugin swaps
    // it for the target's, brotli-packed (arm64 builds embed native/build/arm64-*)
    plugins: [packedAddons(target)],
    minify: true,
    // bytecode halves start-up; with bytecode Bun defaults to CJS, and our top-level await needs ESM
    bytecode,
    format: "esm",
    define,
    compile: {
      target: TARGETS[target].bunTarget,
      executablePath,
      outfile: binary,
      // a server binary must not change behaviour because of a .env or bunfig.toml in its working directory
      autoloadDotenv: false,
      autoloadBunfig: false,
    },
  });
  if (!result.success) {
    throw new BuildError(`${target}: bun build failed:\n${result.logs.map(String).join("\n")}`);
  }
  const m = elfMachine(binary);
  if (m !== TARGETS[target].machine) throw new BuildError(`${target}: output is ${m}, expected ${TARGETS[target].machine}`);
  checkEmbedded(target, binary);
  for (const f of ["LICENSE", "LICENSE.md"]) if (existsSync(join(ROOT, f))) copyFileSync(join(ROOT, f), join(outDir, f));
  smokeTest(target, binary, { version, commit });
  const res: BuildResult = { target, binary, bytes: statSync(binary).size, version, commit, seconds: 0 };
  const format = opts.archive ?? "xz";
  if (format !== "none") {
    res.archive = archive(dirName, format);
    res.archiveBytes = statSync(res.archive).size;
  } else {
    // an archive left from an earlier build would not hold this binary
    for (const f of ["gz", "xz"]) rmSync(join(DIST, `${dirName}.tar.${f}`), { force: true });
  }
  writeChecksums(version);
  res.seconds = (performance.now() - t0) / 1000;
  writeFileSync(join(DIST, `.build-${target}.json`), JSON.stringify({ ...res, sourceHash: hash, bytecode, bun: Bun.version, builtAt: new Date().toISOString() }, null, 2));
  return res;
}

function parseArgs(argv: string[]): { targets: TargetName[]; bytecode: boolean; archive: ArchiveFormat | "none" } {
  let target = "linux-x64";
  let bytecode = true;
  let archive: ArchiveFormat | "none" = "xz";
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--target") target = argv[++i] ?? "";
    else if (a.startsWith("--target=")) target = a.slice("--target=".length);
    else if (a === "--no-bytecode") bytecode = false;
    else if (a === "--no-archive") archive = "none";
    else if (a === "--archive" || a.startsWith("--archive=")) {
      const f = a === "--archive" ? argv[++i] : a.slice("--archive=".length);
      if (f !== "xz" && f !== "gz" && f !== "none") throw new BuildError(`--archive takes xz, gz or none, not ${f}`);
      archive = f;
    }
    else if (a === "--help" || a === "-h") {
      console.log(`usage: bun build.ts [--target ${Object.keys(TARGETS).join("|")}|all] [--no-bytecode] [--archive xz|gz|none]`);
      process.exit(0);
    } else throw new BuildError(`unknown argument ${a}`);
  }
  const targets = target === "all" ? (Object.keys(TARGETS) as TargetName[]) : [target as TargetName];
  for (const t of targets) if (!(t in TARGETS)) throw new BuildError(`unknown target "${t}" (${Object.keys(TARGETS).join(", ")}, all)`);
  return { targets, bytecode, archive };
}

function mib(n: number): string {
  return `${(n / 2 ** 20).toFixed(1)} MiB`;
}

if (import.meta.main) {
  try {
    const { targets, bytecode, archive: withArchive } = parseArgs(process.argv.slice(2));
    // one stamp for every target of a run, even if the tree changes meanwhile
    const commit = gitCommit();
    const failed: string[] = [];
    for (const t of targets) {
      console.log(`building ${t}`);
      try {
        const r = await buildTarget(t, { bytecode, archive: withArchive, commit });
        console.log(`  ${r.binary.replace(ROOT + "/", "")} ${mib(r.bytes)}` + (r.archive ? `, ${r.archive.replace(ROOT + "/", "")} ${mib(r.archiveBytes!)}` : "") + ` (${r.seconds.toFixed(1)} s)`);
      } catch (e) {
        // with "all", one target that can't be built (say arm64 without its addon) must not hide the others
        if (!(e instanceof BuildError) || targets.length === 1) throw e;
        console.error(`  skipped ${t}: ${e.message}`);
        failed.push(t);
      }
    }
    if (failed.length) {
      console.error(`not built: ${failed.join(", ")}`);
      process.exit(1);
    }
  } catch (e) {
    console.error(`build: ${e instanceof BuildError ? e.message : (e as Error).stack}`);
    process.exit(1);
  }
}

export { BuildError, DIST, ROOT };
