// The Dockerfile can't be built here (no docker engine), so check what it promises
// against build.ts and the CLI: the binary it copies is the one build.ts writes, the
// exposed ports are the CLI defaults, it runs as non-root with a working HEALTHCHECK.
import { describe, expect, test } from "bun:test";
import { packageVersion, releaseName } from "../../build";
import { defaultPorts, readText } from "./manifests";

interface Instr {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name?: string;
  instrs: Instr[];
}

/** Dockerfile → stages of instructions (continuations joined, comments dropped). */
function parseDockerfile(text: string): Stage[] {
  const lines: string[] = [];
  let cur = "";
  for (const raw of text.split("\n")) {
    if (/^\s*#/.test(raw) && cur === "") continue;
    if (/^\s*#/.test(raw)) continue; // comment inside a continuation
    if (raw.endsWith("\\")) {
      cur += raw.slice(0, -1) + " ";
      continue;
    }
    cur += raw;
    if (cur.trim()) lines.push(cur.trim());
    cur = "";
  }
  const stages: Stage[] = [];
  for (const l of lines) {
    const m = /^(\w+)\s+([\s\S]*)$/.exec(l);
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    const args = m[2]!;
    if (op === "FROM") {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(args)!;
      stages.push({ from: f[1]!, name: f[2], instrs: [] });
    } else {
      stages.at(-1)?.instrs.push({ op, args });
    }
  }
  return stages;
}

const stages = parseDockerfile(readText("Dockerfile"));
const runtime = stages.at(-1)!;
const build = stages[0]!;
const all = (s: Stage, op: string) => s.instrs.filter((i) => i.op === op).map((i) => i.args);
const one = (s: Stage, op: string) => {
  const xs = all(s, op);
  expect(xs.length).toBe(1);
  return xs[0]!;
};
const globToRegex = (g: string) => new RegExp(`^${g.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")}$`);

describe("Dockerfile", () => {
  test("multi-stage: node build stage, debian-slim (glibc) runtime", () => {
    expect(stages.length).toBe(2);
    expect(build.from).toMatch(/^node:20-bookworm/);
    expect(runtime.from).toMatch(/^debian:bookworm-slim/);
    for (const s of stages) expect(s.from).not.toMatch(/alpine|musl/);
  });

  test("the build stage builds linux-x64 with build.ts and the runtime copies exactly that binary", () => {
    const runs = all(build, "RUN").join("\n");
    expect(runs).toContain("npm ci");
    expect(runs).toMatch(/bun build\.ts --target linux-x64\b/);
    // the path build.ts writes, matched against the glob the Dockerfile copies from
    const produced = `dist/${releaseName(packageVersion(), "linux-x64")}/alvd`;
    const cp = /\bcp (dist\/\S+) (\/\S+)/.exec(runs);
    expect(cp).not.toBeNull();
    expect(produced).toMatch(globToRegex(cp![1]!));
    const copy = all(runtime, "COPY").find((c) => c.includes(`--from=${build.name}`));
    expect(copy).toBe(`--from=${build.name} ${cp![2]} /usr/local/bin/alvd`);
    expect(all(runtime, "COPY").length).toBe(1); // only the binary
    expect(readText("Dockerfile")).not.toMatch(/\bstrip\b(?!ped)/);
  });

  test("entrypoint, command, volume and BUN_TMPDIR", () => {
    expect(JSON.parse(one(runtime, "ENTRYPOINT"))).toEqual(["/usr/local/bin/alvd"]);
    expect(JSON.parse(one(runtime, "CMD"))).toEqual(["server"]);
    expect(one(runtime, "VOLUME")).toBe("/var/lib/alvd");
    const env = all(runtime, "ENV").join(" ");
    const tmp = /BUN_TMPDIR=(\S+)/.exec(env)?.[1];
    expect(tmp).toBeDefined();
    // the runtime stage creates it and hands it to the alvd user
    expect(all(runtime, "RUN").join(" ")).toContain(tmp!);
  });

  test("exposes exactly the CLI's default ports", () => {
    const exposed = one(runtime, "EXPOSE").split(/\s+/).map(Number).sort();
    const d = defaultPorts();
    const expected = [...new Set([...Object.values(d.server), ...Object.values(d.agent)])].sort();
    expect(exposed).toEqual(expected);
    expect(exposed).toEqual([8000, 8080, 8081, 9090]);
  });

  test("runs as a non-root user", () => {
    const user = one(runtime, "USER");
    expect(user.split(":")[0]).not.toMatch(/^(root|0)$/);
    expect(all(runtime, "RUN").join(" ")).toMatch(new RegExp(`useradd[^&]*\\b${user.split(":")[0]}\\b`));
  });

  test("the HEALTHCHECK command passes on 200 from /healthz and fails otherwise", async () => {
    const hc = one(runtime, "HEALTHCHECK");
    const cmd = JSON.parse(/CMD\s+(\[[\s\S]*\])$/.exec(hc)![1]!) as string[];
    expect(cmd.join(" ")).toContain("/healthz");
    expect(cmd.join(" ")).toContain(String(defaultPorts().server.metrics));
    let status = 200;
    const srv = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req) => new Response("x", { status: new URL(req.url, "http://localhost").pathname === "/healthz" ? status : 404 }),
    });
    try {
      // the image's metrics port, moved by the same env variable alvd reads
      // async spawn: a blocking one would stall this thread's HTTP server
      const run = () => Bun.spawn(cmd, { env: { PATH: "/usr/bin:/bin", ALVD_METRICS_PORT: String(srv.port) }, timeout: 10_000 }).exited;
      expect(await run()).toBe(0);
      status = 503;
      expect(await run()).not.toBe(0);
    } finally {
      srv.stop(true);
    }
  });

  test(".dockerignore keeps host build output out of the context", () => {
    const ignored = readText(".dockerignore").split("\n").map((l) => l.trim());
    for (const p of ["node_modules", "dist", ".git", "native/build"]) expect(ignored).toContain(p);
  });
});
