import { BytesTable, HASH_SEED, hashLabel, hashLabels } from './bytesTable.ts';
import type { RemoteSeries } from './remoteWrite.ts';
import { bytesEqual, compareBytes, labelBytes, type ParsedWrite } from './remoteWriteWire.ts';
import { SenderIds, splitLabelMessages } from './senderIds.ts';

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
  /** Series as sent (sender labels included) remembered for the fast path; past this they take the slow one. */
  maxRememberedSeries: number;
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
  maxRememberedSeries: 500_000,
};

interface Source {
  /** Last raw value reported by this source. */
  last: number;
  /** Counters: sum of increases seen from this source (its contribution). */
  acc: number;
  seenTick: number;
  /** Removed from its series by aging: a remembered reference to it must be looked up again. */
  aged: boolean;
}

/** Where a series as sent folds in: its output series, its sender, and that sender's state there. */
interface Remembered {
  series: OutputSeries;
  sender: number;
  source: Source;
}

interface OutputSeries {
  /** Identity: the series' Label messages (source and dropped labels removed) as latin1 text, and its hash. */
  key: string;
  hash: number;
  labels: Record<string, string>;
  /** Labels as sorted [name, value, name, value, ...] for the wire encoder. */
  pairs: string[];
  counter: boolean;
  overflow: boolean;
  /** Per sender id (`SenderIds`). */
  sources: Map<number, Source>;
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
  /** The same series by their identity bytes: the wire path finds a series without building its key. */
  private readonly byBytes = new BytesTable<OutputSeries>();
  private readonly senders = new SenderIds();
  /**
   * The fast path: a series' label bytes exactly as sent (sender labels included, `ParsedWrite.labelRanges`)
   * -> the output series and sender it folds into. A hit costs one latin1 copy and one Map lookup, both
   * native; a miss takes the label-by-label path below and is remembered. Entries whose series was removed
   * or whose sender id was released are purged at the flush that did it.
   */
  private readonly remembered = new Map<string, Remembered>();
  private removedSinceFlush = false;
  /** Scratch for the wire path: [start, end) ranges of the identity and of the sender labels. */
  private readonly runs: number[] = [];
  private readonly senderRuns: number[] = [];
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

  /** The series (as sent) the fast path knows: give it to `RemoteWriteParser.parse()` to skip their labels. */
  get knownSeries(): ReadonlyMap<string, unknown> {
    return this.remembered;
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
    const keyParts: string[] = [];
    const senderParts: string[] = [];
    for (const k of Object.keys(all).sort()) {
      const v = all[k]!;
      if (this.sourceLabels.has(k)) senderParts.push(labelBytes(k, v));
      else if (this.dropRules.length > 0 && this.dropped(name, k)) this.counts.labelsDropped++;
      else {
        labels[k] = v;
        keyParts.push(labelBytes(k, v));
      }
    }
    this.counts.samples += samples;
    let sender = this.senders.ofText(senderParts);
    const key = keyParts.join('');
    let series = this.series.get(key);
    if (!series) [series, sender] = this.create(key, hashLabels(keyParts).hash, labels, name, sender);
    this.update(series, sender, value);
  }

  /**
   * Folds a parsed remote-write request in: the hot path. A series' identity is the bytes of its Label
   * messages (minus sender and dropped labels) read in place from the body, so no label is decoded unless
   * the series is new. Remote write requires labels sorted by name; a series with unsorted labels is
   * decoded and folded the slow way (same result).
   */
  observeParsed(p: ParsedWrite): void {
    const raw = p.raw;
    const o = p.offsets;
    const runs = this.runs;
    const senderRuns = this.senderRuns;
    const hasDropRules = this.dropRules.length > 0;
    let at = 0;
    for (let s = 0; s < p.series; s++) {
      const first = at;
      at += p.labelCounts[s]! * 6;
      const value = p.values[s]!;
      const samples = p.samples[s]!;
      const rawKey = p.keys[s];
      if (rawKey !== undefined) {
        const hit = this.remembered.get(rawKey);
        if (hit !== undefined) {
          this.counts.samples += samples;
          if (hit.source.aged) hit.source = this.update(hit.series, hit.sender, value);
          else this.updateSource(hit.series, hit.source, value);
          continue;
        }
        if (first === at)
          throw new Error('cannot fold a series parsed as known: parse and fold must not interleave');
      }
      runs.length = 0;
      senderRuns.length = 0;
      let runEnd = -1;
      let sorted = true;
      let name: string | undefined;
      let hash = HASH_SEED;
      let length = 0;
      let senderHash = HASH_SEED;
      let senderLength = 0;
      for (let i = first; i < at; i += 6) {
        const ls = o[i]!;
        const le = o[i + 1]!;
        const ns = o[i + 2]!;
        const ne = o[i + 3]!;
        if (i > first && compareBytes(raw, o[i - 4]!, o[i - 3]!, ns, ne) > 0) sorted = false;
        if (this.isSourceLabel(raw, ns, ne)) {
          senderRuns.push(ls, le);
          senderHash = hashLabel(senderHash, raw, ls, le);
          senderLength += le - ls;
          continue;
        }
        if (hasDropRules) {
          name ??= metricName(raw, o, first, at);
          if (this.dropped(name, raw.toString('utf8', ns, ne))) {
            this.counts.labelsDropped++;
            continue;
          }
        }
        if (ls === runEnd) runs[runs.length - 1] = le;
        else runs.push(ls, le);
        runEnd = le;
        hash = hashLabel(hash, raw, ls, le);
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
      this.counts.samples += samples;
      let sender = this.senders.ofRuns(senderHash, senderLength, raw, senderRuns);
      let series = this.byBytes.find(hash, length, raw, runs);
      if (!series) {
        let key = '';
        for (let r = 0; r < runs.length; r += 2) key += raw.toString('latin1', runs[r], runs[r + 1]);
        const labels: Record<string, string> = {};
        for (let i = first; i < at; i += 6) {
          const k = raw.toString('utf8', o[i + 2]!, o[i + 3]!);
          if (this.sourceLabels.has(k)) continue;
          if (hasDropRules && this.dropped(metricName(raw, o, first, at), k)) continue;
          labels[k] = raw.toString('utf8', o[i + 4]!, o[i + 5]!);
        }
        [series, sender] = this.create(key, hash, labels, labels.__name__ ?? '', sender);
      }
      const source = this.update(series, sender, value);
      if (rawKey !== undefined && this.remembered.size < this.cfg.maxRememberedSeries) {
        this.remembered.set(rawKey, { series, sender, source });
      }
    }
  }

  private isSourceLabel(raw: Buffer, ns: number, ne: number): boolean {
    for (const b of this.sourceLabelBytes) if (bytesEqual(raw, ns, ne, b)) return true;
    return false;
  }

  /** Folds one value of `sender` into `series`; returns that sender's state in the series. */
  private update(series: OutputSeries, sender: number, value: number): Source {
    const src = series.sources.get(sender);
    if (!src) {
      const created = { last: value, acc: value, seenTick: this.tick, aged: false };
      series.sources.set(sender, created);
      return created;
    }
    this.updateSource(series, src, value);
    return src;
  }

  private updateSource(series: OutputSeries, src: Source, value: number): void {
    if (series.counter) src.acc += value >= src.last ? value - src.last : value; // below last: a reset
    src.last = value;
    src.seenTick = this.tick;
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
    hash: number,
    labels: Record<string, string>,
    name: string,
    sender: number,
  ): [OutputSeries, number] {
    const workload = labels[this.cfg.workloadLabel];
    const metricFull = (this.perMetric.get(name) ?? 0) >= this.cfg.maxSeriesPerMetric;
    const workloadFull =
      workload !== undefined && (this.perWorkload.get(workload) ?? 0) >= this.cfg.maxSeriesPerWorkload;
    const overflow = metricFull || workloadFull;
    if (overflow) {
      if (metricFull) this.counts.limitedByMetric++;
      else this.counts.limitedByWorkload++;
      // Several original series feed one overflow series: each stays a separate sender so counters add up.
      sender = this.senders.composite(sender, key);
      labels = this.overflowLabels(labels);
      const parts = sortedLabelBytes(labels);
      key = parts.join('');
      hash = hashLabels(parts).hash;
      const existing = this.series.get(key);
      if (existing) return [existing, sender];
    }
    return [this.insert(key, hash, labels, name, overflow), sender];
  }

  private insert(
    key: string,
    hash: number,
    labels: Record<string, string>,
    name: string,
    overflow: boolean,
  ): OutputSeries {
    const series: OutputSeries = {
      key,
      hash,
      labels,
      pairs: Object.keys(labels)
        .sort()
        .flatMap((k) => [k, labels[k]!]),
      counter: COUNTER_SUFFIX.test(name),
      overflow,
      sources: new Map(),
      retired: 0,
    };
    this.series.set(key, series);
    this.byBytes.add(hash, Buffer.from(key, 'latin1'), series);
    if (!overflow) {
      this.perMetric.set(name, (this.perMetric.get(name) ?? 0) + 1);
      const workload = labels[this.cfg.workloadLabel];
      if (workload !== undefined) this.perWorkload.set(workload, (this.perWorkload.get(workload) ?? 0) + 1);
    }
    return series;
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
    const liveSenders = new Set<number>();
    for (const [key, s] of this.series) {
      let value = s.retired;
      for (const src of s.sources.values()) value += s.counter ? src.acc : src.last;
      out.push({ labels: s.labels, pairs: s.pairs, value });
      for (const [id, src] of s.sources) {
        if (this.tick - src.seenTick < this.cfg.maxIdleIntervals) {
          liveSenders.add(id);
          continue;
        }
        if (s.counter) s.retired += src.acc;
        src.aged = true;
        s.sources.delete(id);
        this.counts.agedSources++;
      }
      if (s.sources.size === 0) this.remove(key, s);
    }
    const released = this.senders.retain(liveSenders);
    if (released > 0 || this.removedSinceFlush) {
      for (const [k, r] of this.remembered) {
        // Overflowed series too: a removal may have freed the budget they were refused.
        const gone = this.series.get(r.series.key) !== r.series || r.series.overflow;
        if (gone || (r.sender !== 0 && !liveSenders.has(r.sender))) {
          this.remembered.delete(k);
        }
      }
    }
    this.removedSinceFlush = false;
    this.tick++;
    return out;
  }

  /** The counters' totals now (see `SavedTotals`). */
  saveTotals(): SavedTotals {
    const series: SavedTotals['series'] = [];
    for (const s of this.series.values()) {
      if (!s.counter) continue;
      const sources: [string, number, number][] = [];
      for (const [id, src] of s.sources) sources.push([this.senders.textOf(id), src.last, src.acc]);
      series.push({ key: s.key, labels: s.labels, overflow: s.overflow, retired: s.retired, sources });
    }
    return { version: 1, series };
  }

  /**
   * Restores saved totals into an empty aggregator (at start): each sender continues from its saved last
   * value, so the next report adds only its increase and no counter goes back. Restored senders age like
   * any other. Throws on a malformed entry before changing anything.
   */
  restoreTotals(saved: SavedTotals): number {
    if (saved.version !== 1 || !Array.isArray(saved.series)) {
      throw new Error(`cannot restore totals: unknown format version ${String(saved.version)}`);
    }
    const checked = saved.series.map((e) => {
      const parts = typeof e.key === 'string' ? splitLabelMessages(e.key) : undefined;
      const numbers = [e.retired, ...e.sources.flatMap(([, last, acc]) => [last, acc])];
      if (!parts || !e.labels || numbers.some((n) => typeof n !== 'number' || !Number.isFinite(n))) {
        throw new Error('cannot restore totals: a malformed series entry');
      }
      return { e, hash: hashLabels(parts).hash };
    });
    let restored = 0;
    for (const { e, hash } of checked) {
      if (this.series.has(e.key)) continue;
      const s = this.insert(e.key, hash, e.labels, e.labels.__name__ ?? '', e.overflow === true);
      s.retired = e.retired;
      for (const [text, last, acc] of e.sources) {
        s.sources.set(this.senders.ofStoredText(text), { last, acc, seenTick: this.tick, aged: false });
      }
      restored++;
    }
    return restored;
  }

  private remove(key: string, s: OutputSeries): void {
    this.series.delete(key);
    this.byBytes.delete(s.hash, s);
    this.removedSinceFlush = true;
    this.counts.agedSeries++;
    if (s.overflow) return;
    const name = s.labels.__name__ ?? '';
    decrement(this.perMetric, name);
    const workload = s.labels[this.cfg.workloadLabel];
    if (workload !== undefined) decrement(this.perWorkload, workload);
  }
}

/**
 * The counters' totals as saved across an ingester restart: per counter series its identity, labels, what
 * retired senders contributed, and per live sender its text, last raw value and contribution. Gauges are not
 * kept (the next report rebuilds them). Keys and sender texts are latin1 text of Label message bytes.
 */
export interface SavedTotals {
  version: 1;
  series: {
    key: string;
    labels: Record<string, string>;
    overflow: boolean;
    retired: number;
    sources: [sender: string, last: number, acc: number][];
  }[];
}

function metricName(raw: Buffer, o: Int32Array, first: number, end: number): string {
  for (let i = first; i < end; i += 6) {
    if (o[i + 3]! - o[i + 2]! === 8 && raw.toString('latin1', o[i + 2]!, o[i + 3]!) === '__name__') {
      return raw.toString('utf8', o[i + 4]!, o[i + 5]!);
    }
  }
  return '';
}

function decrement(m: Map<string, number>, k: string): void {
  const n = (m.get(k) ?? 0) - 1;
  if (n <= 0) m.delete(k);
  else m.set(k, n);
}

function sortedLabelBytes(labels: Record<string, string>): string[] {
  return Object.keys(labels)
    .sort()
    .map((k) => labelBytes(k, labels[k]!));
}

/** Canonical identity of a label set: its sorted Label messages' bytes (what `observeParsed` reads off the wire). */
export function seriesKey(labels: Record<string, string>): string {
  return sortedLabelBytes(labels).join('');
}
