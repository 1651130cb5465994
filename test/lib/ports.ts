// Free loopback ports for tests and benchmarks. A port is picked below the kernel's
// ephemeral range, checked by binding it, and released for the caller to bind. Not
// port 0: the kernel hands those out of the ephemeral range, which is where every
// outgoing connection (a test's gRPC client, a tunnel dial) takes its local port too,
// so between the release and the caller's listen a concurrent test's connection could
// take it ("Is port N in use?" from an agent that then never starts).
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

const LOWEST = 10_000;

/** the first port of /proc's ip_local_port_range (32768 on Linux by default) */
function ephemeralStart(): number {
  try {
    const first = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > LOWEST + 1000 ? first : 32768;
  } catch {
    return 32768;
  }
}

const END = ephemeralStart();
/** ports this process already handed out: never twice, even once released */
const given = new Set<number>();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (END - LOWEST));
    if (given.has(port)) continue;
    given.add(port);
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port found in ${LOWEST}–${END - 1} after 200 tries`);
}

export async function freePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) out.push(await freePort());
  return out;
}
