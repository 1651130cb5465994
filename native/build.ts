// Builds our usearch addon in two flavours from native/alvd_index.cc:
//   native/build/simd/alvd_index.node   NumKong kernels, picked at run time from the CPU
//   native/build/plain/alvd_index.node  portable C++ kernels (USEARCH_USE_NUMKONG=0, no -march)
// Calls the C/C++ compiler directly instead of node-gyp: fewer moving parts, and the
// NumKong objects can be cached apart from our source so editing alvd_index.cc only
// recompiles one file. A flavour is skipped when its inputs hash matches the stamp.
//
// Usage: bun native/build.ts [--force] [--only simd|plain]
// Env:   CC, CXX (compilers), ALVD_NODE_HEADERS (dir holding node_api.h), ALVD_NATIVE_JOBS

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, homedir, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { trimmedNumkongSources } from "./numkong-trim";

const here = dirname(new URL(import.meta.url).pathname);
const root = resolve(here, "..");
const buildDir = join(here, "build");
const source = join(here, "alvd_index.cc");
const usearchDir = join(root, "node_modules", "usearch");
const numkongDir = join(usearchDir, "numkong");
const addonApiDir = join(root, "node_modules", "node-addon-api");

type Flavour = "simd" | "plain";

class BuildError extends Error {}

function fail(message: string): never {
  throw new BuildError(message);
}

async function run(cmd: string[], label: string): Promise<string> {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) fail(`${label} failed (exit ${code}):\n${cmd.join(" ")}\n${err.slice(-4000)}`);
  return out + err;
}

async function succeeds(cmd: string[]): Promise<boolean> {
  const proc = Bun.spawn(cmd, { stdout: "ignore", stderr: "ignore" });
  return (await proc.exited) === 0;
}

function findTool(envName: string, candidates: string[], aptHint: string): string {
  const fromEnv = process.env[envName];
  if (fromEnv) return fromEnv;
  for (const c of candidates) if (Bun.which(c)) return c;
  fail(
    `no ${envName === "CC" ? "C" : "C++"} compiler found (tried ${candidates.join(", ")}; set ${envName} to override).\n` +
      `Install one: apt-get install -y ${aptHint}   (Debian/Ubuntu)`,
  );
}

/** Directory with node_api.h: system Node headers, or node-gyp's download cache. */
function findNodeHeaders(): string {
  const candidates = [
    process.env.ALVD_NODE_HEADERS,
    "/usr/include/node",
    "/usr/local/include/node",
    join(dirname(dirname(process.execPath)), "include", "node"),
  ];
  for (const cache of [join(homedir(), ".cache", "node-gyp"), join(homedir(), ".node-gyp")]) {
    if (!existsSync(cache)) continue;
    for (const v of readdirSync(cache).sort().reverse()) candidates.push(join(cache, v, "include", "node"));
  }
  for (const c of candidates) if (c && existsSync(join(c, "node_api.h"))) return c;
  fail(
    "Node-API headers (node_api.h) not found. Install Node.js with its headers (the nodejs package from\n" +
      "NodeSource ships /usr/include/node; on Debian's own packages: apt-get install -y libnode-dev), or run\n" +
      "`npx node-gyp install`, or point ALVD_NODE_HEADERS at a directory holding node_api.h.",
  );
}

// NumKong's ISA probes (compiler support, not CPU support: kernels are dispatched at run time).
const x86Probes: [string, string, string[]][] = [
  ["HASWELL", "x86_haswell", ["-mavx2", "-mfma", "-mf16c"]],
  ["SKYLAKE", "x86_skylake", ["-mavx512f", "-mavx512bw", "-mavx512dq", "-mavx512vl"]],
  ["ICELAKE", "x86_icelake", ["-mavx512vnni", "-mavx512vl"]],
  ["GENOA", "x86_genoa", ["-mavx512bf16", "-mavx512vl"]],
  ["SAPPHIRE", "x86_sapphire", ["-mavx512fp16", "-mavx512vl"]],
  ["SAPPHIREAMX", "x86_sapphireamx", ["-mamx-tile", "-mamx-int8"]],
  ["GRANITEAMX", "x86_graniteamx", ["-mamx-tile", "-mamx-fp16"]],
  ["DIAMOND", "x86_diamond", ["-mavx10.2-512"]],
  ["TURIN", "x86_turin", ["-mavx512vp2intersect"]],
  ["ALDER", "x86_alder", ["-mavxvnni"]],
  ["SIERRA", "x86_sierra", ["-mavxvnniint8"]],
];
const armProbes: [string, string, string[]][] = [
  ["NEON", "arm_neon", ["-march=armv8-a+simd"]],
  ["NEONHALF", "arm_neon_half", ["-march=armv8.2-a+simd+fp16"]],
  ["NEONSDOT", "arm_neon_sdot", ["-march=armv8.2-a+dotprod"]],
  ["NEONBFDOT", "arm_neon_bfdot", ["-march=armv8.6-a+simd+bf16"]],
  ["NEONFHM", "arm_neon_fhm", ["-march=armv8.2-a+simd+fp16+fp16fml"]],
  ["SVE", "arm_sve", ["-march=armv8.2-a+sve"]],
  ["SVEHALF", "arm_sve_half", ["-march=armv8.2-a+sve+fp16"]],
  ["SVEBFDOT", "arm_sve_bfdot", ["-march=armv8.2-a+sve+bf16"]],
  ["SVESDOT", "arm_sve_sdot", ["-march=armv8.2-a+sve+dotprod"]],
  ["SVE2", "arm_sve2", ["-march=armv8.2-a+sve2"]],
];

async function probeHeader(cc: string, outDir: string): Promise<string> {
  const probes = process.arch === "x64" ? x86Probes : process.arch === "arm64" ? armProbes : [];
  const all = [...x86Probes, ...armProbes];
  const obj = join(tmpdir(), `alvd-nk-probe-${process.pid}.o`);
  const lines = [`/* generated by native/build.ts for ${cc} on ${process.arch} */`];
  const supported: string[] = [];
  for (const [name, file, flags] of all) {
    const ok = probes.some((p) => p[0] === name) &&
      (await succeeds([cc, "-c", ...flags, join(numkongDir, "probes", `${file}.c`), "-o", obj]));
    lines.push(`#define NK_TARGET_${name} ${ok ? 1 : 0}`);
    if (ok) supported.push(name.toLowerCase());
  }
  rmSync(obj, { force: true });
  const path = join(outDir, "nk_probes.h");
  writeFileSync(path, lines.join("\n") + "\n");
  console.log(`[native] NumKong targets the compiler supports: ${supported.join(", ") || "none"}`);
  return path;
}

/** Counting semaphore: caps concurrent compiler processes across both flavours. */
class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  constructor(width: number) {
    this.#free = Math.max(1, width);
  }
  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((wake) => this.#waiting.push(wake));
    try {
      return await job();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

function hash(parts: (string | Buffer)[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex").slice(0, 16);
}

const commonDefines = ["-DNAPI_VERSION=8", "-DUSEARCH_USE_OPENMP=0"];
// NK_NATIVE_*=0 keeps NumKong off the compiler's own __bf16/_Float16 types, which g++ 12
// rejects; the kernels do their own conversions, so nothing is lost.
const numkongDefines = ["-DNK_DYNAMIC_DISPATCH=1", "-DNK_NATIVE_F16=0", "-DNK_NATIVE_BF16=0"];
const warnings = ["-Wno-unknown-pragmas", "-Wno-maybe-uninitialized", "-Wno-psabi"];

async function compilerId(tool: string): Promise<string> {
  return (await run([tool, "--version"], `${tool} --version`)).split("\n")[0] ?? tool;
}

interface Toolchain {
  cc: string;
  cxx: string;
  ccId: string;
  cxxId: string;
  nodeHeaders: string;
  jobs: number;
  slots: Slots;
}

async function buildNumkong(tc: Toolchain): Promise<string[]> {
  const sources = readdirSync(join(numkongDir, "c"))
    .filter((f) => f === "numkong.c" || (f.startsWith("dispatch_") && f.endsWith(".c")))
    .sort();
  const usearchVersion = JSON.parse(readFileSync(join(usearchDir, "package.json"), "utf8")).version as string;
  const key = hash([usearchVersion, tc.ccId, process.arch, ...numkongDefines, ...sources, readFileSync(join(here, "numkong-trim.ts"))]);
  const dir = join(buildDir, "numkong", key);
  const objects = sources.map((s) => join(dir, s.replace(/\.c$/, ".o")));
  if (objects.every((o) => existsSync(o))) return objects;
  rmSync(join(buildDir, "numkong"), { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const probes = await probeHeader(tc.cc, dir);
  const inputs = trimmedNumkongSources(join(numkongDir, "c"), sources, join(dir, "src"));
  console.log(`[native] compiling NumKong (${sources.length} files, ${tc.jobs} jobs) with ${tc.ccId}`);
  await Promise.all(
    sources.map((s, i) =>
      tc.slots.run(async () => {
        const tmp = `${objects[i]!}.tmp`;
        await run(
          [tc.cc, "-std=c11", "-O3", "-fPIC", "-fvisibility=hidden", ...warnings, ...numkongDefines,
            "-include", probes, "-I", join(numkongDir, "include"), "-I", join(numkongDir, "c"), "-c", inputs[i]!, "-o", tmp],
          `compiling NumKong ${s}`,
        );
        renameSync(tmp, objects[i]!);
      })
    ),
  );
  return objects;
}

async function buildFlavour(flavour: Flavour, tc: Toolchain, force: boolean): Promise<void> {
  const outDir = join(buildDir, flavour);
  const out = join(outDir, "alvd_index.node");
  const stamp = join(outDir, "stamp");
  const defines = flavour === "simd" ? ["-DUSEARCH_USE_NUMKONG=1", ...numkongDefines] : ["-DUSEARCH_USE_NUMKONG=0"];
  const usearchVersion = JSON.parse(readFileSync(join(usearchDir, "package.json"), "utf8")).version as string;
  const key = hash([readFileSync(source), readFileSync(join(here, "reachability.hpp")), readFileSync(new URL(import.meta.url).pathname), readFileSync(join(here, "numkong-trim.ts")), usearchVersion,
    tc.cxxId, tc.ccId, process.arch, ...defines]);
  if (!force && existsSync(out) && existsSync(stamp) && readFileSync(stamp, "utf8") === key) {
    console.log(`[native] ${flavour}: up to date`);
    return;
  }
  const started = performance.now();
  mkdirSync(outDir, { recursive: true });
  const numkong = flavour === "simd" ? await buildNumkong(tc) : [];
  const probes = numkong.length ? ["-include", join(dirname(numkong[0]!), "nk_probes.h"), "-I", join(numkongDir, "include")] : [];
  const tmp = `${out}.tmp`;
  // Export only the Node-API entry points: NumKong's nk_* symbols must not clash with
  // another addon in the same process (the prebuilt usearch carries its own copy).
  const exports = join(outDir, "exports.map");
  writeFileSync(exports, "{ global: napi_register_module_v1; node_api_module_get_api_version_v1; local: *; };\n");
  console.log(`[native] ${flavour}: compiling alvd_index.cc with ${tc.cxxId}`);
  await tc.slots.run(() => run(
    [tc.cxx, "-std=c++17", "-O3", "-fPIC", "-shared", "-fexceptions", "-fvisibility=hidden", ...warnings,
      ...commonDefines, ...defines, ...probes,
      "-I", addonApiDir, "-I", tc.nodeHeaders, "-I", join(usearchDir, "include"),
      source, ...numkong, "-o", tmp,
      // A static C++ runtime keeps the addon (and the compiled alvd binary embedding it)
      // independent of the target's libstdc++ version. libgcc stays shared: its static
      // unwinder would need glibc 2.35 (_dl_find_object). -s drops the static symbol table
      // (~150 KB a flavour, embedded in every release binary); the exported entry points
      // live in .dynsym and stay.
      `-Wl,--version-script=${exports}`, "-static-libstdc++", "-s"],
    `compiling ${flavour} addon`,
  ));
  renameSync(tmp, out);
  writeFileSync(stamp, key);
  console.log(`[native] ${flavour}: built ${out} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * Serialises concurrent runs (postinstall, `bun run build:native` and the release build can
 * overlap): the second waits for the first and then finds its outputs up to date.
 */
async function withBuildLock<T>(body: () => Promise<T>): Promise<T> {
  const lock = join(buildDir, ".lock");
  mkdirSync(buildDir, { recursive: true });
  let announced = false;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    let holder = 0;
    try {
      holder = Number(readFileSync(join(lock, "pid"), "utf8"));
    } catch {
      // the holder is between mkdir and writing its pid
    }
    let alive = true;
    if (holder > 0) {
      try {
        process.kill(holder, 0);
      } catch {
        alive = false;
      }
    }
    if (!alive) {
      rmSync(lock, { recursive: true, force: true });
      continue;
    }
    if (!announced) console.log(`[native] waiting for another native build (pid ${holder || "?"})`);
    announced = true;
    await Bun.sleep(500);
  }
  try {
    return await body();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const force = args.includes("--force");
  const onlyAt = args.indexOf("--only");
  const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;
  if (only !== undefined && only !== "simd" && only !== "plain") fail(`--only takes simd or plain, not ${only}`);
  for (const [dir, what] of [[usearchDir, "usearch"], [addonApiDir, "node-addon-api"]] as const)
    if (!existsSync(dir)) fail(`${what} is missing from node_modules; run npm ci first`);
  const cxx = findTool("CXX", ["g++", "clang++", "c++"], "g++");
  const cc = findTool("CC", ["gcc", "clang", "cc"], "gcc");
  const jobs = Number(process.env.ALVD_NATIVE_JOBS) || availableParallelism();
  const tc: Toolchain = {
    cc,
    cxx,
    ccId: await compilerId(cc),
    cxxId: await compilerId(cxx),
    nodeHeaders: findNodeHeaders(),
    jobs,
    slots: new Slots(jobs),
  };
  await withBuildLock(async () => {
    const started = performance.now();
    // Both flavours at once: the plain compile fills a core while NumKong builds.
    const flavours = (["simd", "plain"] as const).filter((f) => !only || only === f);
    await Promise.all(flavours.map((f) => buildFlavour(f, tc, force)));
    console.log(`[native] done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  });
}

try {
  await main();
} catch (e) {
  if (e instanceof BuildError) {
    console.error(`[native] build failed: ${e.message}`);
    process.exit(1);
  }
  throw e;
}
