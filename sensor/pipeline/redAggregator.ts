import type { ApiCall } from '../protocols/contract.ts';
import { DEFAULT_BUCKETS_S, RED_LABELS, redMetricName } from './redMetrics.ts';

/**
 * RED metrics made on the fly: one latency histogram per (metric, workload, namespace, peer, protocol, role,
 * method, templated resource, status, error). `_count` is the request counter and `_count{error="true"}` the
 * error counter, so rates and error ratios come from one series family.
 *
 * Values are cumulative from the sensor's start (Prometheus semantics); the ingester sums increases across
 * sensors and copes with restarts. Cardinality is bounded: a new series past `maxSeries` (all workloads) or
 * `maxSeriesPerWorkload` folds into that workload's overflow series, whose peer, method, resource and status
 * are `overflowValue`. Series not updated for `maxIdleSnapshots` snapshots are forgotten (their budget freed;
 * if they come back they restart at 0, which the ingester reads as a counter reset).
 *
 * Called only from the event loop; `observe` does not allocate for a known series except the key string.
 */
export interface Identity {
  workload: string;
  namespace: string;
  /** The other side: a workload or service, a DNS name the sensor saw resolved, or the address. */
  peer: string;
  /** Pod and node names, when the k8s-watcher knows the process's pod (spans carry them; metrics do not). */
  pod?: string;
  node?: string;
}

export interface RedAggregatorConfig {
  bucketsS: number[];
  maxSeries: number;
  maxSeriesPerWorkload: number;
  overflowValue: string;
  maxIdleSnapshots: number;
  maxLabelChars: number;
}

export const DEFAULT_RED_CONFIG: RedAggregatorConfig = {
  bucketsS: DEFAULT_BUCKETS_S,
  maxSeries: 50_000,
  maxSeriesPerWorkload: 2_000,
  overflowValue: '__overflow__',
  maxIdleSnapshots: 20,
  maxLabelChars: 256,
};

/** One sample for the remote-write encoder: labels as sorted [name, value, ...] pairs (shared: read only). */
export interface FlatSeries {
  readonly pairs: readonly string[];
  value: number;
}

interface Histogram {
  name: string;
  /** Label values in RED_LABELS order. */
  values: string[];
  workload: string;
  /** Per bucket (non-cumulative), the last slot is +Inf. */
  buckets: Float64Array;
  sum: number;
  count: number;
  lastSnapshot: number;
  /** Overflow series do not count against (nor free) a workload's budget. */
  overflow: boolean;
  pairs?: SeriesPairs;
  /** The index node that holds this series (to unlink it when it ages out). */
  indexed?: IndexNode;
}

/** One level of the series index: children by label value; at the last level, series by error flag. */
interface IndexNode {
  next?: Map<string, IndexNode>;
  leaves?: [Histogram | undefined, Histogram | undefined];
}

/** Index nodes created since the last rebuild (shared by every aggregator: only a bound, see `observe`). */
let created = 0;

function step(node: IndexNode, value: string): IndexNode {
  node.next ??= new Map();
  let child = node.next.get(value);
  if (child === undefined) {
    child = {};
    node.next.set(value, child);
    created++;
  }
  return child;
}

interface SeriesPairs {
  extraKey: string;
  buckets: string[][];
  sum: string[];
  count: string[];
}

export interface RedCounts {
  observed: number;
  /** Calls counted in an overflow series instead of their own. */
  overflowed: number;
  series: number;
  agedOut: number;
}

const SEP = '\u0000';

export class RedAggregator {
  private readonly cfg: RedAggregatorConfig;
  private readonly series = new Map<string, Histogram>();
  private index: IndexNode = {};
  /** `created` when the index was last rebuilt, minus the nodes that rebuild made. */
  private indexBase = 0;
  private readonly perWorkload = new Map<string, number>();
  private readonly le: string[];
  private snapshots = 0;
  readonly counts: RedCounts = { observed: 0, overflowed: 0, series: 0, agedOut: 0 };

  constructor(cfg: Partial<RedAggregatorConfig> = {}) {
    this.cfg = { ...DEFAULT_RED_CONFIG, ...cfg };
    const b = this.cfg.bucketsS;
    if (b.length === 0 || b.some((x, i) => !(x > 0) || (i > 0 && x <= b[i - 1]!)))
      throw new Error('cannot configure RED histograms: buckets must be positive and increasing');
    this.le = [...b.map(String), '+Inf'];
  }

  get size(): number {
    return this.series.size;
  }

  /**
   * Counts one call whose resource was already templated; `durationNs` when the caller has it already.
   * `weight` > 1 when the capture left some connections out (load shedding): the call stands for that many.
   */
  observe(
    call: ApiCall,
    id: Identity,
    resource: string,
    durationNs = Number(call.endNs - call.startNs),
    weight = 1,
  ): void {
    const name = redMetricName(call.protocol, call.role);
    // Values are cut to maxLabelChars first so a path names exactly one series.
    const max = this.cfg.maxLabelChars;
    const workload = id.workload.length > max ? id.workload.slice(0, max) : id.workload;
    const namespace = id.namespace.length > max ? id.namespace.slice(0, max) : id.namespace;
    const peer = id.peer.length > max ? id.peer.slice(0, max) : id.peer;
    const method = call.method.length > max ? call.method.slice(0, max) : call.method;
    const res = resource.length > max ? resource.slice(0, max) : resource;
    const status = call.status.length > max ? call.status.slice(0, max) : call.status;
    // The series is found through a tree of maps, one level per label: each lookup hashes a short string
    // V8 has usually hashed before (templates, names, statuses are shared strings), where one key string
    // per call (~100 characters, built, flattened and hashed every time) was the pipeline's largest item.
    // Paths of overflowed or forgotten series stay in the index until it is rebuilt: rebuild once it holds
    // twice what the live series need (9 nodes each), so it stays bounded at an amortised constant cost.
    if (created - this.indexBase > 2 * 9 * this.series.size + 10_000) this.reindex();
    let node: IndexNode = this.index;
    node = step(node, name);
    node = step(node, workload);
    node = step(node, namespace);
    node = step(node, peer);
    node = step(node, call.protocol);
    node = step(node, call.role);
    node = step(node, method);
    node = step(node, res);
    node = step(node, status);
    const slot = call.error ? 1 : 0;
    let h = node.leaves?.[slot];
    if (h === undefined) {
      const error = call.error ? 'true' : 'false';
      const values = [workload, namespace, peer, call.protocol, call.role, method, res, status, error];
      h = this.create(name + SEP + values.join(SEP), name, values, id.workload);
      // Overflow series are not indexed under the call's labels: the next call of that series tries
      // again (and is counted as overflowed again), as when the series was looked up by key.
      if (!h.overflow) {
        node.leaves ??= [undefined, undefined];
        node.leaves[slot] = h;
        h.indexed = node;
      }
    }
    const seconds = durationNs > 0 ? durationNs / 1e9 : 0;
    const b = this.cfg.bucketsS;
    let i = 0;
    while (i < b.length && seconds > b[i]!) i++;
    h.buckets[i]! += weight;
    h.sum += seconds * weight;
    h.count += weight;
    h.lastSnapshot = this.snapshots;
    this.counts.observed++;
  }

  private create(key: string, name: string, values: string[], workload: string): Histogram {
    const inWorkload = this.perWorkload.get(workload) ?? 0;
    if (this.series.size >= this.cfg.maxSeries || inWorkload >= this.cfg.maxSeriesPerWorkload) {
      this.counts.overflowed++;
      const o = this.cfg.overflowValue;
      // peer, method, resource, status fold; workload, namespace, protocol, role and error stay.
      const folded = [values[0]!, values[1]!, o, values[3]!, values[4]!, o, o, o, values[8]!];
      const okey = name + SEP + folded.join(SEP);
      const existing = this.series.get(okey);
      if (existing) return existing;
      return this.insert(okey, name, folded, workload, true); // overflow series are not limited
    }
    this.perWorkload.set(workload, inWorkload + 1);
    return this.insert(key, name, values, workload, false);
  }

  private insert(
    key: string,
    name: string,
    values: string[],
    workload: string,
    overflow: boolean,
  ): Histogram {
    const h: Histogram = {
      name,
      values,
      workload,
      buckets: new Float64Array(this.cfg.bucketsS.length + 1),
      sum: 0,
      count: 0,
      lastSnapshot: this.snapshots,
      overflow,
    };
    this.series.set(key, h);
    this.counts.series = this.series.size;
    return h;
  }

  /**
   * Every live histogram as `_bucket` (cumulative, per `le`), `_sum` and `_count` samples, labels sorted by
   * name with `extraLabels` (e.g. `sensor`, `node`) added. Then forgets series idle too long.
   */
  snapshot(extraLabels: Record<string, string> = {}): FlatSeries[] {
    const out: FlatSeries[] = [];
    const extraKey = JSON.stringify(extraLabels);
    for (const h of this.series.values()) {
      // Label pairs never change for a series: built once (per set of extra labels) and shared read-only.
      if (h.pairs?.extraKey !== extraKey) h.pairs = this.pairsOf(h, extraLabels, extraKey);
      const p = h.pairs;
      let cumulative = 0;
      for (let i = 0; i < h.buckets.length; i++) {
        cumulative += h.buckets[i]!;
        out.push({ pairs: p.buckets[i]!, value: cumulative });
      }
      out.push({ pairs: p.sum, value: h.sum });
      out.push({ pairs: p.count, value: h.count });
    }
    this.snapshots++;
    this.age();
    return out;
  }

  private pairsOf(h: Histogram, extraLabels: Record<string, string>, extraKey: string): SeriesPairs {
    const base: [string, string][] = Object.entries(extraLabels);
    RED_LABELS.forEach((l, i) => {
      base.push([l, h.values[i]!]);
    });
    return {
      extraKey,
      buckets: this.le.map((le) => sortedPairs(`${h.name}_bucket`, [...base, ['le', le]])),
      sum: sortedPairs(`${h.name}_sum`, base),
      count: sortedPairs(`${h.name}_count`, base),
    };
  }

  private age(): void {
    const oldest = this.snapshots - this.cfg.maxIdleSnapshots;
    let unlinked = false;
    for (const [key, h] of this.series) {
      if (h.lastSnapshot >= oldest) continue;
      this.series.delete(key);
      unlinked = true;
      const leaves = h.indexed?.leaves;
      if (leaves) leaves[leaves[0] === h ? 0 : 1] = undefined;
      this.counts.agedOut++;
      const n = this.perWorkload.get(h.workload) ?? 0;
      if (!h.overflow) {
        if (n <= 1) this.perWorkload.delete(h.workload);
        else this.perWorkload.set(h.workload, n - 1);
      }
    }
    this.counts.series = this.series.size;
    // Index nodes of forgotten series stay behind; rebuild the index when series were forgotten so it
    // does not grow with every label value ever seen (aging runs once per snapshot, every 15 s).
    if (unlinked) this.reindex();
  }

  private reindex(): void {
    this.index = {};
    const before = created;
    for (const h of this.series.values()) {
      h.indexed = undefined;
      if (h.overflow) continue;
      let node = step(this.index, h.name);
      for (let i = 0; i < 8; i++) node = step(node, h.values[i]!);
      node.leaves ??= [undefined, undefined];
      node.leaves[h.values[8] === 'true' ? 1 : 0] = h;
      h.indexed = node;
    }
    this.indexBase = before;
  }
}

/** Remote write wants labels sorted by name (byte order), `__name__` included. */
function sortedPairs(name: string, labels: [string, string][]): string[] {
  const all: [string, string][] = [['__name__', name], ...labels];
  all.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const pairs: string[] = [];
  for (const [k, v] of all) pairs.push(k, v);
  return pairs;
}
