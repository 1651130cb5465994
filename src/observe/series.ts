// Counters and histograms for the per-call paths. prom-client turns every update's
// label object into a hash string and looks the series up again (a few µs, several
// times per search). Here a caller asks once for the series of its label values and
// keeps it; an update is a few additions. prom-client's Registry reads the values
// when /metrics is scraped, in the shape its own Counter and Histogram give.
import type { Registry } from "./prom";

type Labels<L extends string> = Record<L, string>;

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

interface MetricSnapshot {
  name: string;
  help: string;
  type: "counter" | "histogram";
  values: MetricValue[];
  aggregator: "sum";
}

export class CounterSeries {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

export class HistogramSeries {
  count = 0;
  sum = 0;
  /** observations per bucket (not cumulative); the last slot is +Inf */
  readonly counts: Float64Array;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    this.count++;
    this.sum += v;
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
  }
}

abstract class SeriesMetric<L extends string, S> {
  private readonly series = new Map<string, { labels: Labels<L>; s: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly L[],
    registry: Registry,
  ) {
    // the Registry asks only for name, get() and reset()
    registry.registerMetric(this as unknown as Parameters<Registry["registerMetric"]>[0]);
  }

  protected abstract fresh(): S;

  /** the series of these label values; keep it, it is the same object every time */
  labels(labels: Labels<L>): S {
    let key = "";
    for (const n of this.labelNames) key += `${labels[n]}\u0000`;
    let entry = this.series.get(key);
    if (entry === undefined) {
      const own = {} as Labels<L>;
      for (const n of this.labelNames) own[n] = labels[n];
      this.series.set(key, (entry = { labels: own, s: this.fresh() }));
    }
    return entry.s;
  }

  protected entries(): Iterable<{ labels: Labels<L>; s: S }> {
    return this.series.values();
  }

  reset(): void {
    this.series.clear();
  }
}

export class SeriesCounter<L extends string> extends SeriesMetric<L, CounterSeries> {
  protected fresh(): CounterSeries {
    return new CounterSeries();
  }

  async get(): Promise<MetricSnapshot> {
    const values: MetricValue[] = [];
    for (const { labels, s } of this.entries()) values.push({ labels, value: s.value });
    return { name: this.name, help: this.help, type: "counter", values, aggregator: "sum" };
  }
}

export class SeriesHistogram<L extends string> extends SeriesMetric<L, HistogramSeries> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly L[],
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    super(name, help, labelNames, registry);
  }

  protected fresh(): HistogramSeries {
    return new HistogramSeries(this.buckets);
  }

  async get(): Promise<MetricSnapshot> {
    const values: MetricValue[] = [];
    for (const { labels, s } of this.entries()) {
      let acc = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        acc += s.counts[i]!;
        values.push({ labels: { ...labels, le: i < this.buckets.length ? this.buckets[i]! : "+Inf" }, value: acc, metricName: `${this.name}_bucket` });
      }
      values.push({ labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: "histogram", values, aggregator: "sum" };
  }
}
