import type { RemoteSeries } from './remoteWrite.ts';
import { bytesEqual, compareBytes, labelBytes, type ParsedWrite } from './remoteWriteWire.ts';

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
  /** Identity as bytes (the key string in latin1) and its FNV-1a hash, for the wire path's lookup. */
  keyBytes: Buffer;
  hash: number;
  labels: Record<string, string>;
  /** Labels as sorted [name, value, name, value, ...] for the wire encoder. */
  pairs: string[];
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

/** One aggregated series at a flush. */
export interface FlushedSeries {
  labels: Record<string, string>;
  pairs: string[];
  value: number;
}

export class SeriesAggregator {
  private readonly series = new Map<string, OutputSeries>();
  /** The same series by hash of their identity bytes: the wire path finds a series without building its key. */
  private readonly byHash = new Map<number, OutputSeries[]>();
  private readonly runs: number[] = [];
  private readonly perMetric = new Map<string, number>();
  private readonly perWorkload = new Map<string, number>();
  private readonly dropRules: { metric: RegExp | undefined; labels: Set<string> }[];
  private readonly sourceLabels: Set<string>;
  private readonly sourceLabelBytes: Buffer[];
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
    this.sourceLabelBytes = cfg.sourceLabels.map((l) => Buffer.from(l));
  }

  get size(): number {
    return this.series.size;
  }

  /** Folds series in (the in-process path, e.g. the collector's OTLP metrics). */
  add(input: readonly RemoteSeries[]): void {
    for (const s of input) {
      const newest = s.samples.at(-1);
      if (!newest) continue;
      this.addLabels(s.labels, newest.value, s.samples.length);
    }
  }

  private addLabels(all: Record<string, string>, value: number, samples: number): void {
    const name = all.__name__ ?? '';
    const labels: Record<string, string> = {};
    let key = '';
    let source = '';
    for (const k of Object.keys(all).sort()) {
      const v = all[k]!;
      if (this.sourceLabels.has(k)) source += labelBytes(k, v);
      else if (this.dropRules.length > 0 && this.dropped(name, k)) this.counts.labelsDropped++;
      else {
        labels[k] = v;
        key += labelBytes(k, v);
      }
    }
    this.fold(key, () => labels, name, source, value, samples);
  }

  /**
   * Folds a parsed remote-write request in: the hot path. A series' identity is the bytes of its Label
   * messages (minus source and dropped labels) taken straight from the body as latin1 text, so no label is
   * decoded as UTF-8 unless the series is new. Remote write requires labels sorted by name; a series with
   * unsorted labels is decoded and folded the slow way (same result).
   */
  observeParsed(p: ParsedWrite): void {
    const raw = p.raw;
    const o = p.offsets;
    let at = 0;
    for (let s = 0; s < p.series; s++) {
      const n = p.labelCounts[s]!;
      const value = p.values[s]!;
      const samples = p.samples[s]!;
      const first = at;
      at += n * 6;
      let source = '';
      const runs = this.runs;
      runs.length = 0;
      let runEnd = -1;
      let sorted = true;
      let name = '';
      let needName = this.dropRules.length > 0;
      let hash = FNV_OFFSET;
      let length = 0;
      for (let i = first; i < at; i += 6) {
        const ls = o[i]!;
        const le = o[i + 1]!;
        const ns = o[i + 2]!;
        const ne = o[i + 3]!;
        if (i > first && compareBytes(raw, o[i - 4]!, o[i - 3]!, ns, ne) > 0) sorted = false;
        if (this.isSourceLabel(raw, ns, ne)) {
          source += raw.toString('latin1', ls, le);
          continue;
        }
        if (needName) {
          name = this.metricName(raw, o, first, at);
          needName = false;
        }
        if (this.dropRules.length > 0 && this.dropped(name, raw.toString('utf8', ns, ne))) {
          this.counts.labelsDropped++;
          continue;
        }
        if (ls === runEnd) runs[runs.length - 1] = le;
        else runs.push(ls, le);
        runEnd = le;
        hash = fnv(hash, raw, ls, le);
        length += le - ls;
      }
      if (!sorted) {
        const all: Record<string, string> = {};
        for (let i = first; i < at; i += 6) {
          all[raw.toString('utf8', o[i + 2]!, o[i + 3]!)] = raw.toString('utf8', o[i + 4]!, o[i + 5]!);
        }
        this.addLabels(all, value, samples);
        continue;
      }
      const known = this.findByBytes(hash, length, raw, runs);
      if (known) {
        this.counts.samples += samples;
        this.update(known, source, value);
        continue;
      }
      let key = '';
      for (let r = 0; r < runs.length; r += 2) key += raw.toString('latin1', runs[r], runs[r + 1]);
      this.fold(
        key,
        () => {
          const labels: Record<string, string> = {};
          for (let i = first; i < at; i += 6) {
            const k = raw.toString('utf8', o[i + 2]!, o[i + 3]!);
            if (this.sourceLabels.has(k)) continue;
            if (this.dropRules.length > 0 && this.dropped(this.metricName(raw, o, first, at), k)) continue;
            labels[k] = raw.toString('utf8', o[i + 4]!, o[i + 5]!);
          }
          return labels;
        },
        undefined,
        source,
        value,
        samples,
      );
    }
  }

  private isSourceLabel(raw: Buffer, ns: number, ne: number): boolean {
    for (const b of this.sourceLabelBytes) if (bytesEqual(raw, ns, ne, b)) return true;
    return false;
  }

  private metricName(raw: Buffer, o: readonly number[], first: number, end: number): string {
    for (let i = first; i < end; i += 6) {
      if (o[i + 3]! - o[i + 2]! === 8 && raw.toString('latin1', o[i + 2]!, o[i + 3]!) === '__name__') {
        return raw.toString('utf8', o[i + 4]!, o[i + 5]!);
      }
    }
    return '';
  }

  /** Adds one sample of one output series (created on first sight, subject to the limits). */
  private fold(
    key: string,
    labelsOf: () => Record<string, string>,
    knownName: string | undefined,
    source: string,
    value: number,
    samples: number,
  ): void {
    this.counts.samples += samples;
    let series = this.series.get(key);
    if (!series) {
      const labels = labelsOf();
      [series, source] = this.create(key, labels, knownName ?? labels.__name__ ?? '', source);
    }
    this.update(series, source, value);
  }

  private update(series: OutputSeries, source: string, value: number): void {
    const src = series.sources.get(source);
    if (!src) {
      series.sources.set(source, { last: value, acc: value, seenTick: this.tick });
      return;
    }
    if (series.counter) src.acc += value >= src.last ? value - src.last : value; // below last: a reset
    src.last = value;
    src.seenTick = this.tick;
  }

  /** The series whose identity bytes equal the concatenated `runs` of `raw`, if any. */
  private findByBytes(
    hash: number,
    length: number,
    raw: Buffer,
    runs: readonly number[],
  ): OutputSeries | undefined {
    const candidates = this.byHash.get(hash);
    if (!candidates) return undefined;
    next: for (const c of candidates) {
      const k = c.keyBytes;
      if (k.length !== length) continue;
      let j = 0;
      for (let r = 0; r < runs.length; r += 2) {
        for (let i = runs[r]!; i < runs[r + 1]!; i++) if (raw[i] !== k[j++]) continue next;
      }
      return c;
    }
    return undefined;
  }

  private dropped(name: string, label: string): boolean {
    if (label === '__name__') return false;
    for (const r of this.dropRules)
      if (r.labels.has(label) && (!r.metric || r.metric.test(name))) return true;
    return false;
  }

  /** A new output series, or the overflow series it folds into when a limit is reached. */
  private create(
    key: string,
    labels: Record<string, string>,
    name: string,
    source: string,
  ): [OutputSeries, string] {
    const workload = labels[this.cfg.workloadLabel];
    const metricFull = (this.perMetric.get(name) ?? 0) >= this.cfg.maxSeriesPerMetric;
    const workloadFull =
      workload !== undefined && (this.perWorkload.get(workload) ?? 0) >= this.cfg.maxSeriesPerWorkload;
    const overflow = metricFull || workloadFull;
    if (overflow) {
      if (metricFull) this.counts.limitedByMetric++;
      else this.counts.limitedByWorkload++;
      // Several original series feed one overflow series: each stays a separate source so counters add up.
      source = `${source}|${key}`;
      labels = this.overflowLabels(labels);
      key = seriesKey(labels);
      const existing = this.series.get(key);
      if (existing) return [existing, source];
    }
    const pairs = Object.keys(labels)
      .sort()
      .flatMap((k) => [k, labels[k]!]);
    const keyBytes = Buffer.from(key, 'latin1');
    const series: OutputSeries = {
      keyBytes,
      hash: fnv(FNV_OFFSET, keyBytes, 0, keyBytes.length),
      labels,
      pairs,
      counter: COUNTER_SUFFIX.test(name),
      overflow,
      sources: new Map(),
      retired: 0,
    };
    this.series.set(key, series);
    const same = this.byHash.get(series.hash);
    if (same) same.push(series);
    else this.byHash.set(series.hash, [series]);
    if (!overflow) {
      this.perMetric.set(name, (this.perMetric.get(name) ?? 0) + 1);
      if (workload !== undefined) this.perWorkload.set(workload, (this.perWorkload.get(workload) ?? 0) + 1);
    }
    return [series, source];
  }

  private overflowLabels(labels: Record<string, string>): Record<string, string> {
    const keep = new Set(this.cfg.keepOnOverflow);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(labels)) out[k] = keep.has(k) ? v : this.cfg.overflowValue;
    return out;
  }

  /**
   * Ends a report interval: returns every live series with its current value, then ages out
   * sources and series idle for `maxIdleIntervals` intervals.
   */
  flush(): FlushedSeries[] {
    const out: FlushedSeries[] = [];
    for (const [key, s] of this.series) {
      let value = s.retired;
      for (const src of s.sources.values()) value += s.counter ? src.acc : src.last;
      out.push({ labels: s.labels, pairs: s.pairs, value });
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
    const same = this.byHash.get(s.hash)?.filter((x) => x !== s) ?? [];
    if (same.length > 0) this.byHash.set(s.hash, same);
    else this.byHash.delete(s.hash);
    this.counts.agedSeries++;
    if (s.overflow) return;
    const name = s.labels.__name__ ?? '';
    decrement(this.perMetric, name);
    const workload = s.labels[this.cfg.workloadLabel];
    if (workload !== undefined) decrement(this.perWorkload, workload);
  }
}

const FNV_OFFSET = 0x811c9dc5;

/** 32-bit FNV-1a over `buf[start, end)`, continuing from `h`. */
function fnv(h: number, buf: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193) >>> 0;
  return h;
}

function decrement(m: Map<string, number>, k: string): void {
  const n = (m.get(k) ?? 0) - 1;
  if (n <= 0) m.delete(k);
  else m.set(k, n);
}

/** Canonical identity of a label set: its sorted Label messages' bytes (what `observeParsed` reads off the wire). */
export function seriesKey(labels: Record<string, string>): string {
  let key = '';
  for (const k of Object.keys(labels).sort()) key += labelBytes(k, labels[k]!);
  return key;
}
