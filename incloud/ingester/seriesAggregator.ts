import type { RemoteSeries } from './remoteWrite.ts';

/**
 * The ingester's state: series reported by all sensors, aggregated, limited and aged.
 *
 * - Aggregation: labels in `sourceLabels` (which sensor sent it: `instance`, `sensor`, ...) are removed; series
 *   that are then equal are one output series, the sum over sources. Counters (`_total`, `_count`, `_sum`,
 *   `_bucket`) are summed as increases per source, so a sensor restart (its counter back at 0) or a sensor going
 *   away never makes the aggregate go down; other series (gauges) are the sum of each live source's last value.
 * - Cardinality: a new output series beyond `maxSeriesPerMetric` (per `__name__`) or `maxSeriesPerWorkload`
 *   (per value of `workloadLabel`) is folded into an overflow series: labels other than `keepOnOverflow`
 *   get the value `overflowValue`. Overflow series are not limited; folding is counted.
 * - Drop rules remove labels (e.g. a request id) before anything else, for metrics matching a pattern.
 * - Aging: a source not heard from during `maxIdleIntervals` whole report intervals is forgotten (a counter keeps what
 *   it contributed); a series without sources is removed and stops being written.
 * Called only from the event loop; no I/O.
 */
export interface AggregatorConfig {
  sourceLabels: string[];
  workloadLabel: string;
  maxSeriesPerMetric: number;
  maxSeriesPerWorkload: number;
  overflowValue: string;
  keepOnOverflow: string[];
  dropLabels: { metric?: string; labels: string[] }[];
  maxIdleIntervals: number;
}

export const DEFAULT_AGGREGATOR_CONFIG: AggregatorConfig = {
  sourceLabels: ['instance', 'sensor', 'node'],
  workloadLabel: 'workload',
  maxSeriesPerMetric: 20_000,
  maxSeriesPerWorkload: 5_000,
  overflowValue: '__overflow__',
  keepOnOverflow: ['__name__', 'le', 'quantile', 'namespace', 'workload'],
  dropLabels: [],
  maxIdleIntervals: 5,
};

interface Source {
  /** Last raw value reported by this source. */
  last: number;
  /** Counters: sum of increases seen from this source (its contribution). */
  acc: number;
  seenTick: number;
}

interface OutputSeries {
  labels: Record<string, string>;
  counter: boolean;
  overflow: boolean;
  sources: Map<string, Source>;
  /** Counters: contributions of sources that aged out. */
  retired: number;
}

export interface AggregatorCounts {
  samples: number;
  limitedByMetric: number;
  limitedByWorkload: number;
  labelsDropped: number;
  agedSeries: number;
  agedSources: number;
}

const COUNTER_SUFFIX = /(_total|_count|_sum|_bucket)$/;

export class SeriesAggregator {
  private readonly series = new Map<string, OutputSeries>();
  private readonly perMetric = new Map<string, number>();
  private readonly perWorkload = new Map<string, number>();
  private readonly dropRules: { metric: RegExp | undefined; labels: Set<string> }[];
  private readonly sourceLabels: Set<string>;
  private tick = 0;
  readonly counts: AggregatorCounts = {
    samples: 0,
    limitedByMetric: 0,
    limitedByWorkload: 0,
    labelsDropped: 0,
    agedSeries: 0,
    agedSources: 0,
  };

  constructor(private readonly cfg: AggregatorConfig) {
    this.dropRules = cfg.dropLabels.map((r) => ({
      metric: r.metric === undefined ? undefined : new RegExp(`^(?:${r.metric})$`),
      labels: new Set(r.labels),
    }));
    this.sourceLabels = new Set(cfg.sourceLabels);
  }

  get size(): number {
    return this.series.size;
  }

  /** Folds one remote-write request in. Only the newest sample of each series matters (values are cumulative). */
  add(input: readonly RemoteSeries[]): void {
    for (const s of input) {
      const newest = s.samples.at(-1);
      if (!newest) continue;
      this.counts.samples += s.samples.length;
      const name = s.labels.__name__ ?? '';
      const out: Record<string, string> = {};
      let source = '';
      for (const [k, v] of Object.entries(s.labels)) {
        if (this.sourceLabels.has(k)) source += `${k}=${v},`;
        else if (this.dropped(name, k)) this.counts.labelsDropped++;
        else out[k] = v;
      }
      this.observe(out, source, newest.value);
    }
  }

  private dropped(name: string, label: string): boolean {
    for (const r of this.dropRules)
      if (r.labels.has(label) && (!r.metric || r.metric.test(name))) return true;
    return false;
  }

  private observe(labels: Record<string, string>, source: string, value: number): void {
    let key = seriesKey(labels);
    let series = this.series.get(key);
    if (!series) {
      const name = labels.__name__ ?? '';
      const workload = labels[this.cfg.workloadLabel];
      const metricFull = (this.perMetric.get(name) ?? 0) >= this.cfg.maxSeriesPerMetric;
      const workloadFull =
        workload !== undefined && (this.perWorkload.get(workload) ?? 0) >= this.cfg.maxSeriesPerWorkload;
      if (metricFull || workloadFull) {
        if (metricFull) this.counts.limitedByMetric++;
        else this.counts.limitedByWorkload++;
        // Several original series feed one overflow series: each stays a separate source so counters add up.
        source = `${source}|${key}`;
        labels = this.overflowLabels(labels);
        key = seriesKey(labels);
        series = this.series.get(key);
      }
      if (!series) {
        const overflow = metricFull || workloadFull;
        series = { labels, counter: COUNTER_SUFFIX.test(name), overflow, sources: new Map(), retired: 0 };
        this.series.set(key, series);
        if (!overflow) {
          this.perMetric.set(name, (this.perMetric.get(name) ?? 0) + 1);
          if (workload !== undefined)
            this.perWorkload.set(workload, (this.perWorkload.get(workload) ?? 0) + 1);
        }
      }
    }
    const src = series.sources.get(source);
    if (!src) {
      series.sources.set(source, { last: value, acc: value, seenTick: this.tick });
      return;
    }
    if (series.counter) src.acc += value >= src.last ? value - src.last : value; // below last: a reset
    src.last = value;
    src.seenTick = this.tick;
  }

  private overflowLabels(labels: Record<string, string>): Record<string, string> {
    const keep = new Set(this.cfg.keepOnOverflow);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(labels)) out[k] = keep.has(k) ? v : this.cfg.overflowValue;
    return out;
  }

  /**
   * Ends a report interval: returns every live series with one sample at `timestampMs`, then ages out
   * sources and series idle for `maxIdleIntervals` intervals.
   */
  flush(timestampMs: number): RemoteSeries[] {
    const out: RemoteSeries[] = [];
    for (const [key, s] of this.series) {
      let value = s.retired;
      for (const src of s.sources.values()) value += s.counter ? src.acc : src.last;
      out.push({ labels: s.labels, samples: [{ value, timestampMs }] });
      for (const [id, src] of s.sources) {
        if (this.tick - src.seenTick < this.cfg.maxIdleIntervals) continue;
        if (s.counter) s.retired += src.acc;
        s.sources.delete(id);
        this.counts.agedSources++;
      }
      if (s.sources.size === 0) this.remove(key, s);
    }
    this.tick++;
    return out;
  }

  private remove(key: string, s: OutputSeries): void {
    this.series.delete(key);
    this.counts.agedSeries++;
    if (s.overflow) return;
    const name = s.labels.__name__ ?? '';
    decrement(this.perMetric, name);
    const workload = s.labels[this.cfg.workloadLabel];
    if (workload !== undefined) decrement(this.perWorkload, workload);
  }
}

function decrement(m: Map<string, number>, k: string): void {
  const n = (m.get(k) ?? 0) - 1;
  if (n <= 0) m.delete(k);
  else m.set(k, n);
}

/** Canonical identity of a label set (sorted). */
export function seriesKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
