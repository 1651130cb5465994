// The benches' memory baselines: settledRss waits for a process's RSS to stop moving
// instead of taking the first reading, so memory still on its way in (or out) does not
// end up on the wrong side of a baseline.
import { expect, test } from "bun:test";
import { rssOf, settledRss } from "../../bench/lib/stats";

const MIB = 1 << 20;

test("settledRss waits until a growing process stops growing", async () => {
  // touches 1 MiB every 10 ms for ~1.2 s, then holds it all. A spin rather than
  // timers, so a loaded machine slows it down without pausing it for a whole poll.
  const child = Bun.spawn([process.execPath, "-e", `
    const held = [];
    let next = performance.now();
    while (held.length < 120) {
      if (performance.now() < next) continue;
      held.push(new Uint8Array(${MIB}).fill(1));
      next += 10;
    }
    setInterval(() => held.length, 1000);
  `]);
  try {
    await Bun.sleep(150);
    const early = rssOf(child.pid);
    const settled = await settledRss(child.pid);
    const final = rssOf(child.pid);
    // read at once, the baseline would have missed most of the 120 MiB still to come
    expect(final - early).toBeGreaterThan(60 * MIB);
    expect(Math.abs(final - settled)).toBeLessThan(4 * MIB);
  } finally {
    child.kill();
    await child.exited;
  }
});

test("settledRss of this process is this process's RSS, after a collection", async () => {
  const settled = await settledRss();
  expect(Math.abs(process.memoryUsage.rss() - settled)).toBeLessThan(8 * MIB);
});
