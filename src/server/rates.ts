// Recent rates for Admin/Rates (the console's live charts): the server's own RPC
// counters, the ones /metrics exports, sampled every few seconds into a short history
// of per-window rates and latency quantiles, so a page opened now shows the last minutes
// at once. Inserted vectors are counted by an interceptor: a MultiInsert or a stream
// carries many per call, and the RPC counters count calls.
import { create } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import { FamilyRateSchema, RateWindowSchema, type RateWindow } from "../gen/alvd/cluster/v1/admin_pb";
import type { Registry } from "../observe/prom";

export const WINDOW_MS = 2000;
/** five minutes of windows */
const KEEP = 150;

interface Family {
  calls: number;
  errors: number;
  /** cumulative bucket counts by upper bound, as the histogram exports them */
  buckets: Map<number, number>;
}

interface Sample {
  at: number;
  inserted: number;
  families: Map<string, Family>;
}

export interface RateHistory {
  /** windows that ended after sinceMs, oldest first */
  since(sinceMs: number): RateWindow[];
  /** counts vectors acknowledged by vald.v1.Insert's methods; put it on the gateway's listener */
  readonly interceptor: Interceptor;
  close(): void;
}

/** "vald.v1.Search/SearchByID" → "Search" */
const familyOf = (method: string) => method.slice(method.lastIndexOf(".", method.indexOf("/")) + 1, method.indexOf("/"));

export function createRateHistory(registry: Registry, component: string): RateHistory {
  let inserted = 0;
  const windows: RateWindow[] = [];
  let last: Sample | undefined;
  let sampling = false;

  const sample = async (): Promise<Sample> => {
    const families = new Map<string, Family>();
    const family = (method: string | number | undefined) => {
      const name = familyOf(String(method));
      let f = families.get(name);
      if (f === undefined) families.set(name, (f = { calls: 0, errors: 0, buckets: new Map() }));
      return f;
    };
    const calls = await registry.getSingleMetric("alvd_rpc_requests_total")?.get();
    for (const v of calls?.values ?? []) {
      if (v.labels.component !== component) continue;
      const f = family(v.labels.method);
      f.calls += v.value;
      if (v.labels.code !== "ok") f.errors += v.value;
    }
    const latency = await registry.getSingleMetric("alvd_rpc_duration_seconds")?.get();
    for (const v of latency?.values ?? []) {
      const le = v.labels.le;
      if (v.labels.component !== component || le === undefined) continue;
      const bound = le === "+Inf" ? Infinity : Number(le);
      const b = family(v.labels.method).buckets;
      b.set(bound, (b.get(bound) ?? 0) + v.value);
    }
    return { at: Date.now(), inserted, families };
  };

  const tick = async () => {
    if (sampling) return;
    sampling = true;
    try {
      const now = await sample();
      if (last !== undefined) {
        windows.push(windowBetween(last, now));
        if (windows.length > KEEP) windows.shift();
      }
      last = now;
    } finally {
      sampling = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), WINDOW_MS);
  timer.unref?.();

  const interceptor: Interceptor = (next) => (req) => {
    if (req.service.typeName !== "vald.v1.Insert") return next(req);
    return next(req).then((res) => {
      if (!res.stream) {
        const locations = (res.message as { locations?: unknown[] }).locations;
        inserted += locations?.length ?? 1;
        return res;
      }
      const source = res.message;
      return {
        ...res,
        message: (async function* () {
          for await (const m of source) {
            if ((m as { payload?: { case?: string } }).payload?.case === "location") inserted++;
            yield m;
          }
        })(),
      };
    });
  };

  return {
    since: (sinceMs) => windows.filter((w) => Number(w.endMs) > sinceMs),
    interceptor,
    close: () => clearInterval(timer),
  };
}

function windowBetween(a: Sample, b: Sample): RateWindow {
  const seconds = Math.max(0.001, (b.at - a.at) / 1000);
  const families = [];
  for (const [name, f] of b.families) {
    const before = a.families.get(name);
    const calls = f.calls - (before?.calls ?? 0);
    if (calls <= 0) continue;
    const bounds = [...f.buckets.keys()].sort((x, y) => x - y);
    const counts = bounds.map((le) => (f.buckets.get(le) ?? 0) - (before?.buckets.get(le) ?? 0));
    families.push(
      create(FamilyRateSchema, {
        family: name,
        callsPerSecond: calls / seconds,
        errorsPerSecond: (f.errors - (before?.errors ?? 0)) / seconds,
        p50Seconds: quantile(0.5, bounds, counts),
        p99Seconds: quantile(0.99, bounds, counts),
      }),
    );
  }
  families.sort((x, y) => (x.family < y.family ? -1 : 1));
  return create(RateWindowSchema, { endMs: BigInt(b.at), seconds, families, insertedPerSecond: (b.inserted - a.inserted) / seconds });
}

/**
 * The q-quantile of observations counted in cumulative buckets, interpolated linearly
 * within the bucket it falls in (as Prometheus's histogram_quantile does); in the
 * open-ended last bucket, the highest finite bound.
 */
export function quantile(q: number, bounds: readonly number[], cumulative: readonly number[]): number {
  const total = cumulative[cumulative.length - 1] ?? 0;
  if (total <= 0) return 0;
  const rank = q * total;
  let i = cumulative.findIndex((c) => c >= rank);
  if (i < 0) i = cumulative.length - 1;
  const upper = bounds[i]!;
  if (upper === Infinity) return bounds[i - 1] ?? 0;
  const lower = i === 0 ? 0 : bounds[i - 1]!;
  const below = i === 0 ? 0 : cumulative[i - 1]!;
  const inBucket = cumulative[i]! - below;
  return inBucket <= 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
}
