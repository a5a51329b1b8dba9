import { OtlpInputError } from './otlpSchema.ts';
import { asArray, asObject } from './otlpValues.ts';

/**
 * OTLP exponential histograms -> classic Prometheus histogram series (`_bucket{le}` cumulative, `_sum`,
 * `_count`), because our remote write and VictoriaMetrics 1.79 carry no native histograms (the OpenTelemetry
 * Prometheus compatibility spec maps exponential histograms to native ones where the backend has them).
 *
 * Bucket `i` at scale `s` holds values in (base^i, base^(i+1)], base = 2^(2^-s) (negative buckets: the same
 * magnitudes below zero). Points are first brought down to `EXP_HISTOGRAM_SCALE` (index >> (s - scale)) when
 * finer: every `le` is then a power of 2^(1/4), the same label values from one point to the next whatever
 * scale the SDK picked (a coarser point's boundaries are a subset of the same grid), so series stay few and
 * stable. At scale 2 a quantile is off by at most ~9%.
 *
 * Delta points are merged per series into running bucket counts (`ExpHistogramTotals`), so the cumulative
 * `le` series never miss a bucket that only an earlier delta had.
 */
export const EXP_HISTOGRAM_SCALE = 2;

/** Bucket counts of one histogram at one scale. `negative` indexes are magnitudes (bucket of -base^i). */
export interface ExpBuckets {
  scale: number;
  zeroCount: number;
  zeroThreshold: number;
  positive: Map<number, number>;
  negative: Map<number, number>;
  count: number;
  sum: number | undefined;
}

type Num = (v: unknown, what: string) => number;

/** Reads a data point's buckets, brought down to at most `EXP_HISTOGRAM_SCALE`. */
export function readExpBuckets(p: Record<string, unknown>, num: Num): ExpBuckets {
  const scale = num(p.scale ?? 0, 'dataPoint.scale');
  if (!Number.isInteger(scale) || scale < -10 || scale > 20) {
    throw new OtlpInputError(`cannot decode dataPoint.scale: ${scale} is outside -10..20`);
  }
  const target = Math.min(scale, EXP_HISTOGRAM_SCALE);
  const side = (v: unknown, what: string): Map<number, number> => {
    const b = asObject(v, what);
    const offset = num(b.offset ?? 0, `${what}.offset`);
    const counts = asArray(b.bucketCounts, `${what}.bucketCounts`);
    if (!Number.isInteger(offset) || Math.abs(offset) > 2 ** 30 || counts.length > 1 << 16) {
      throw new OtlpInputError(`cannot decode ${what}: offset or bucket count out of range`);
    }
    const out = new Map<number, number>();
    for (let i = 0; i < counts.length; i++) {
      const c = num(counts[i], `${what}.bucketCounts`);
      if (c === 0) continue;
      const idx = (offset + i) >> (scale - target); // arithmetic shift: floor division for negative indexes too
      out.set(idx, (out.get(idx) ?? 0) + c);
    }
    return out;
  };
  return {
    scale: target,
    zeroCount: num(p.zeroCount ?? 0, 'dataPoint.zeroCount'),
    zeroThreshold: num(p.zeroThreshold ?? 0, 'dataPoint.zeroThreshold'),
    positive: side(p.positive, 'dataPoint.positive'),
    negative: side(p.negative, 'dataPoint.negative'),
    count: num(p.count ?? 0, 'dataPoint.count'),
    sum: p.sum === undefined || p.sum === null ? undefined : num(p.sum, 'dataPoint.sum'),
  };
}

/** `b` brought down to `scale` (coarser), in place. */
function downscale(b: ExpBuckets, scale: number): void {
  if (scale >= b.scale) return;
  const shift = b.scale - scale;
  for (const m of [b.positive, b.negative]) {
    const moved = [...m];
    m.clear();
    for (const [i, c] of moved) m.set(i >> shift, (m.get(i >> shift) ?? 0) + c);
  }
  b.scale = scale;
}

/**
 * Running totals of delta exponential histograms, keyed by series. Bounded like `DeltaAccumulator`: past
 * `maxSeries` the least recently updated histogram is forgotten (its next delta starts over, a reset).
 */
export class ExpHistogramTotals {
  private readonly totals = new Map<string, ExpBuckets>();

  constructor(private readonly maxSeries = 20_000) {}

  add(key: string, delta: ExpBuckets): ExpBuckets {
    const total = this.totals.get(key);
    this.totals.delete(key);
    if (!total) {
      this.totals.set(key, delta);
      if (this.totals.size > this.maxSeries) this.totals.delete(this.totals.keys().next().value!);
      return delta;
    }
    const scale = Math.min(total.scale, delta.scale);
    downscale(total, scale);
    downscale(delta, scale);
    for (const side of ['positive', 'negative'] as const) {
      for (const [i, c] of delta[side]) total[side].set(i, (total[side].get(i) ?? 0) + c);
    }
    total.zeroCount += delta.zeroCount;
    total.zeroThreshold = Math.max(total.zeroThreshold, delta.zeroThreshold);
    total.count += delta.count;
    if (delta.sum !== undefined) total.sum = (total.sum ?? 0) + delta.sum;
    this.totals.set(key, total);
    return total;
  }
}

/** The upper bound of bucket `i` at `scale`: base^(i+1), computed so every scale lands on the same values. */
function upperBound(i: number, scale: number): number {
  return 2 ** ((i + 1) * 2 ** -scale);
}

/**
 * Cumulative classic buckets of `b`, lowest `le` first: negative buckets (most negative first), the zero
 * bucket (`le` = zero threshold) when anything is at or below zero, positive buckets, then `+Inf` = count.
 */
export function cumulativeBuckets(b: ExpBuckets): [le: string, count: number][] {
  const out: [string, number][] = [];
  let cumulative = 0;
  for (const i of [...b.negative.keys()].sort((x, y) => y - x)) {
    cumulative += b.negative.get(i)!;
    out.push([String(-upperBound(i - 1, b.scale)), cumulative]); // bucket i below zero ends at -base^i
  }
  if (b.zeroCount > 0 || b.negative.size > 0) {
    cumulative += b.zeroCount;
    out.push([String(b.zeroThreshold), cumulative]);
  }
  for (const i of [...b.positive.keys()].sort((x, y) => x - y)) {
    cumulative += b.positive.get(i)!;
    out.push([String(upperBound(i, b.scale)), cumulative]);
  }
  out.push(['+Inf', Math.max(b.count, cumulative)]);
  return out;
}
