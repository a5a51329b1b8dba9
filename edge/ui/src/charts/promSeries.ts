/**
 * Prometheus range-query results (matrix) -> the aligned columns uPlot draws: one shared time axis from the
 * query's step, each series a column with null where it has no sample (a gap, not zero).
 */
import type { PromLabels, PromMatrix } from '../clusterApi.ts';

export interface AlignedSeries {
  /** Epoch milliseconds. */
  timestamps: number[];
  series: { label: string; labels: PromLabels; values: (number | null)[] }[];
  /** Series left out past MAX_SERIES. */
  dropped: number;
}

/** At most this many series are drawn; the rest are dropped (and counted) so a careless query stays usable. */
export const MAX_SERIES = 50;

/** `{__name__="x", a="1"}` -> `x{a="1"}`, the way Prometheus prints a series. */
export function seriesLabel(labels: PromLabels): string {
  const { __name__: name = '', ...rest } = labels;
  const pairs = Object.entries(rest)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  if (pairs.length === 0) return name || '{}';
  return `${name}{${pairs.join(', ')}}`;
}

export function alignMatrix(
  matrix: PromMatrix,
  stepMs: number,
  label: (labels: PromLabels) => string = seriesLabel,
): AlignedSeries {
  const step = Math.max(1, stepMs);
  const kept = matrix.slice(0, MAX_SERIES);
  // The grid comes from the samples themselves: Prometheus evaluates at start + k*step, VictoriaMetrics may
  // first align start to a multiple of step; either way every sample sits on first + k*step.
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const s of kept) {
    for (const [t] of s.values) {
      first = Math.min(first, t * 1000);
      last = Math.max(last, t * 1000);
    }
  }
  const n = Number.isFinite(first) ? Math.round((last - first) / step) + 1 : 0;
  const timestamps = Array.from({ length: n }, (_, i) => first + i * step);
  const series = kept.map((s) => {
    const values: (number | null)[] = new Array(n).fill(null);
    for (const [t, v] of s.values) {
      const i = Math.round((t * 1000 - first) / step);
      const num = Number(v);
      if (i >= 0 && i < n && Number.isFinite(num)) values[i] = num;
    }
    return { label: label(s.metric), labels: s.metric, values };
  });
  return { timestamps, series, dropped: matrix.length - kept.length };
}
