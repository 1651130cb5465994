// Progress on a real terminal (util-linux `script` gives the command a pty) and off
// one; flush's question on a terminal; Ctrl-C during a load stops with an exact resume
// point, and resuming from it completes the load without a gap or a duplicate.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Index } from "../../src/gen/vald/v1/index_pb";
import { startServer, type ServerProc } from "../lib/cluster";
import { BUN, MAIN, ROOT } from "../lib/process";
import { cleanEnv, cli, FASHION_MNIST, held, requireFashionMnist, shell } from "./lib";

setDefaultTimeout(90_000);

let server: ServerProc;
beforeAll(async () => {
  requireFashionMnist();
  server = await startServer({ dimension: 784 });
});
afterAll(async () => {
  await server?.stop();
});
const at = () => ["-h", "127.0.0.1", "-p", String(server.grpcPort)];
const stored = () => held(server.client(Index));
const flush = async () => expect((await cli(["flush", ...at(), "--yes"])).code).toBe(0);

/** `alvd …` under a pseudo-terminal; returns what the terminal showed. */
function onTerminal(args: string[], input = "") {
  const command = [BUN, MAIN, ...args].map((a) => `'${a}'`).join(" ");
  return shell(`printf '${input}' | script -qec "${command.replace(/"/g, '\\"')}" /dev/null`);
}

describe("progress", () => {
  test("on a terminal: a bar redrawn in place with count, percentage, rate and ETA", async () => {
    await flush();
    const r = await onTerminal(["load", FASHION_MNIST, "--limit", "1500", ...at()]);
    expect(r.code).toBe(0);
    const frames = r.stdout.split("\r\x1b[K").slice(1);
    expect(frames.length).toBeGreaterThan(0);
    const last = frames.at(-1)!;
    expect(last).toMatch(/^load \[#{10,}\] 100% 1,500\/1,500 [\d,]+\/s (ETA \d+:\d\d|\d+:\d\d elapsed)\r?\n/);
    for (const f of frames) expect(f).toMatch(/^load \[[#-]+\] +\d+% [\d,]+\/1,500 [\d,]+\/s /);
    expect(r.stdout).toMatch(/loaded 1,500 vectors in [\d.]+ s/);
    expect(await stored()).toBe(1500);
  });

  test("off a terminal: plain log lines every --progress-interval, no escape codes; --progress none is silent", async () => {
    await flush();
    const r = await cli(["load", FASHION_MNIST, "--limit", "1500", "--progress-interval", "50ms", ...at()]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain("\x1b");
    expect(r.stderr).not.toContain("\r");
    const lines = r.stderr.trim().split("\n");
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l).toMatch(/^load: [\d,]+\/1,500 vectors \(\d+\.\d%\), [\d,]+\/s, (ETA \d+:\d\d|\d+:\d\d elapsed)$/);
    expect(r.stdout).toMatch(/^loaded 1,500 vectors/);
    await flush();
    const quiet = await cli(["load", FASHION_MNIST, "--limit", "300", "--progress", "none", "--progress-interval", "1ms", ...at()]);
    expect(quiet).toMatchObject({ code: 0, stderr: "" });
  });

  test("flush on a terminal asks, and only yes removes everything", async () => {
    await cli(["load", FASHION_MNIST, "--limit", "10", "--progress", "none", ...at()]);
    const no = await onTerminal(["flush", ...at()], "n\\n");
    expect(no.stdout).toContain(`Remove ${await stored()} vectors from 127.0.0.1:${server.grpcPort}? Type "yes" to confirm:`);
    expect(no.stdout).toContain("not flushed");
    expect(no.code).toBe(1);
    expect(await stored()).toBeGreaterThan(0);
    const yes = await onTerminal(["flush", ...at()], "yes\\n");
    expect(yes.code).toBe(0);
    expect(yes.stdout).toContain("flushed 127.0.0.1");
    expect(await stored()).toBe(0);
  });
});

describe("Ctrl-C during a load", () => {
  test("stops sending, reports where to resume; resuming there loads the rest exactly", async () => {
    await flush();
    const total = 6000;
    const proc = Bun.spawn([BUN, MAIN, "load", FASHION_MNIST, "--limit", String(total), "--progress-interval", "50ms", ...at()], {
      cwd: ROOT,
      env: cleanEnv(),
      stdout: "pipe",
      stderr: "pipe",
    });
    let err = "";
    const reading = (async () => {
      for await (const chunk of proc.stderr) err += new TextDecoder().decode(chunk);
    })();
    const until = Date.now() + 60_000;
    while (!/load: [\d,]+\/6,000/.test(err) && Date.now() < until && proc.exitCode === null) await Bun.sleep(20);
    proc.kill("SIGINT");
    const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    await reading;
    expect(code).toBe(1);
    expect(err).toContain("stopping: waiting for the answers in flight");
    const m = /interrupted; rows before [\d,]+ were all answered: resume with --skip (\d+) --limit (\d+)\n/.exec(err);
    expect(m).not.toBeNull();
    const resumeAt = Number(m![1]);
    expect(resumeAt).toBeGreaterThan(0);
    expect(resumeAt).toBeLessThan(total);
    expect(Number(m![2])).toBe(total - resumeAt);
    expect(out).toStartWith(`loaded ${resumeAt.toLocaleString("en-US")} vectors`);
    // nothing reported as loaded is missing, nothing more was stored
    expect(await stored()).toBe(resumeAt);
    const rest = await cli(["load", FASHION_MNIST, "--skip", m![1]!, "--limit", m![2]!, "--progress", "none", ...at()]);
    expect(rest.stderr).toBe("");
    expect(rest.code).toBe(0);
    expect(await stored()).toBe(total);
  });
});
