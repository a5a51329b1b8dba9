import type { RemoteSeries } from '../ingester/remoteWrite.ts';
import { cumulativeBuckets, ExpHistogramTotals, readExpBuckets } from './otlpExpHistogram.ts';
import { OtlpInputError } from './otlpSchema.ts';
import { asArray, asNanos, asObject, asString, asUint, attributesToMap } from './otlpValues.ts';

/**
 * OTLP metrics -> Prometheus series for the metrics-ingester, after the OpenTelemetry -> Prometheus
 * compatibility rules: names and label names sanitised to [a-zA-Z0-9_:], monotonic cumulative sums get
 * `_total`, histograms become `_bucket{le}`/`_sum`/`_count`, summaries `{quantile}`/`_sum`/`_count`,
 * `service.name` -> `job`, `service.instance.id` -> `instance`.
 * Delta sums and histograms are turned into cumulative series by `DeltaAccumulator` (the ingester and
 * PromQL's rate() work on cumulative counters). Exponential histograms become classic `_bucket{le}` histograms
 * on a fixed grid of boundaries (`otlpExpHistogram.ts`).
 */
export interface ConvertedMetrics {
  series: RemoteSeries[];
  points: number;
  rejected: number;
  rejectReason: string;
}

const DELTA = 1;

/**
 * Running totals of delta series, keyed by the full label set. Bounded: past `maxSeries` the oldest-updated
 * series is forgotten (its next delta starts a new total, which rate() reads as a counter reset).
 * A retried request must not be added twice: the collector drops repeats by digest before calling this.
 */
export class DeltaAccumulator {
  private readonly totals = new Map<string, number>();
  /** Delta exponential histograms, merged bucket by bucket. */
  readonly expHistograms = new ExpHistogramTotals();
  evicted = 0;

  constructor(private readonly maxSeries = 200_000) {}

  add(labels: Record<string, string>, delta: number): number {
    const key = seriesKeyOf('', labels);
    const total = (this.totals.get(key) ?? 0) + delta;
    this.totals.delete(key);
    this.totals.set(key, total);
    if (this.totals.size > this.maxSeries) {
      this.totals.delete(this.totals.keys().next().value!);
      this.evicted++;
    }
    return total;
  }
}

function seriesKeyOf(name: string, labels: Record<string, string>): string {
  return JSON.stringify([name, Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1))]);
}

export function sanitizeName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

function sanitizeLabel(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(s) ? `key_${s}` : s;
}

function labelsOf(base: Record<string, string>, attrs: unknown): Record<string, string> {
  const out = { ...base };
  for (const [k, v] of Object.entries(attributesToMap(attrs, 'dataPoint.attributes')))
    out[sanitizeLabel(k)] = v;
  return out;
}

function ms(p: Record<string, unknown>): number {
  return Number(asNanos(p.timeUnixNano, 'dataPoint.timeUnixNano') / 1_000_000n);
}

function num(v: unknown, what: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v)) return Number(v);
  if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return Number(v);
  throw new OtlpInputError(`cannot decode ${what}: not a number`);
}

function pointValue(p: Record<string, unknown>): number {
  if (p.asDouble !== undefined) return num(p.asDouble, 'dataPoint.asDouble');
  if (p.asInt !== undefined) return num(p.asInt, 'dataPoint.asInt');
  return 0;
}

export function metricSeries(req: Record<string, unknown>, deltas: DeltaAccumulator): ConvertedMetrics {
  const out: ConvertedMetrics = { series: [], points: 0, rejected: 0, rejectReason: '' };
  let delta = false;
  const push = (labels: Record<string, string>, value: number, timestampMs: number) =>
    out.series.push({ labels, samples: [{ value: delta ? deltas.add(labels, value) : value, timestampMs }] });
  for (const rmv of asArray(req.resourceMetrics, 'resourceMetrics')) {
    const rm = asObject(rmv, 'resourceMetrics');
    const res = attributesToMap(asObject(rm.resource, 'resource').attributes, 'resource.attributes');
    const base: Record<string, string> = {};
    if (res['service.name']) base.job = res['service.name'];
    if (res['service.instance.id']) base.instance = res['service.instance.id'];
    for (const smv of asArray(rm.scopeMetrics, 'scopeMetrics')) {
      for (const mv of asArray(asObject(smv, 'scopeMetrics').metrics, 'metrics')) {
        const m = asObject(mv, 'metric');
        const name = sanitizeName(asString(m.name, 'metric.name'));
        if (!name) throw new OtlpInputError('cannot decode metric: empty name');
        if (m.gauge !== undefined || m.sum !== undefined) {
          const data = asObject(m.gauge ?? m.sum, 'metric.data');
          const points = asArray(data.dataPoints, 'dataPoints').map((p) => asObject(p, 'dataPoint'));
          out.points += points.length;
          delta =
            m.sum !== undefined && asUint(data.aggregationTemporality, 'aggregationTemporality') === DELTA;
          const full =
            m.sum !== undefined && data.isMonotonic === true && !name.endsWith('_total')
              ? `${name}_total`
              : name;
          for (const p of points)
            push({ __name__: full, ...labelsOf(base, p.attributes) }, pointValue(p), ms(p));
        } else if (m.histogram !== undefined) {
          const data = asObject(m.histogram, 'metric.histogram');
          const points = asArray(data.dataPoints, 'dataPoints').map((p) => asObject(p, 'dataPoint'));
          out.points += points.length;
          delta = asUint(data.aggregationTemporality, 'aggregationTemporality') === DELTA;
          for (const p of points) {
            const labels = labelsOf(base, p.attributes);
            const t = ms(p);
            const bounds = asArray(p.explicitBounds, 'explicitBounds').map((b) => num(b, 'explicitBounds'));
            const counts = asArray(p.bucketCounts, 'bucketCounts').map((c) => num(c, 'bucketCounts'));
            let cumulative = 0;
            for (let i = 0; i < counts.length; i++) {
              cumulative += counts[i]!;
              const le = i < bounds.length ? String(bounds[i]) : '+Inf';
              push({ __name__: `${name}_bucket`, ...labels, le }, cumulative, t);
            }
            if (p.sum !== undefined) push({ __name__: `${name}_sum`, ...labels }, num(p.sum, 'sum'), t);
            push({ __name__: `${name}_count`, ...labels }, num(p.count ?? 0, 'count'), t);
          }
        } else if (m.summary !== undefined) {
          delta = false;
          const points = asArray(asObject(m.summary, 'metric.summary').dataPoints, 'dataPoints');
          out.points += points.length;
          for (const pv of points) {
            const p = asObject(pv, 'dataPoint');
            const labels = labelsOf(base, p.attributes);
            const t = ms(p);
            for (const qv of asArray(p.quantileValues, 'quantileValues')) {
              const q = asObject(qv, 'quantileValue');
              push(
                { __name__: name, ...labels, quantile: String(num(q.quantile ?? 0, 'quantile')) },
                num(q.value ?? 0, 'value'),
                t,
              );
            }
            push({ __name__: `${name}_sum`, ...labels }, num(p.sum ?? 0, 'sum'), t);
            push({ __name__: `${name}_count`, ...labels }, num(p.count ?? 0, 'count'), t);
          }
        } else if (m.exponentialHistogram !== undefined) {
          const data = asObject(m.exponentialHistogram, 'metric.exponentialHistogram');
          const points = asArray(data.dataPoints, 'dataPoints').map((p) => asObject(p, 'dataPoint'));
          out.points += points.length;
          const isDelta = asUint(data.aggregationTemporality, 'aggregationTemporality') === DELTA;
          delta = false; // merged as buckets below, not per `le` series
          for (const p of points) {
            const labels = labelsOf(base, p.attributes);
            const t = ms(p);
            const read = readExpBuckets(p, num);
            const b = isDelta ? deltas.expHistograms.add(seriesKeyOf(name, labels), read) : read;
            for (const [le, count] of cumulativeBuckets(b))
              push({ __name__: `${name}_bucket`, ...labels, le }, count, t);
            if (b.sum !== undefined) push({ __name__: `${name}_sum`, ...labels }, b.sum, t);
            push({ __name__: `${name}_count`, ...labels }, b.count, t);
          }
        }
      }
    }
  }
  return out;
}
