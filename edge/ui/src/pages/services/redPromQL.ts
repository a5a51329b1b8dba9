/**
 * PromQL for the services pages' charts (range queries), over the same histograms the portal's RED figures
 * use: metric names and the error matcher come from incloud/portal/redQueries.ts (names from the sensor's
 * own sensor/pipeline/redMetrics.ts). The portal's instant queries only accept name-like label values; chart filters may hold any
 * resource (e.g. `/api/orders/{id}`), so values are quoted here as PromQL strings (JSON escapes are valid
 * PromQL escapes). Queries go to the cluster's own Prometheus API, so this is correctness, not a trust line.
 */
import { RED_METRICS } from '../../../../../incloud/portal/redQueries.ts';

export type Side = 'server' | 'client';

function selector(side: Side, suffix: string, where: Record<string, string>, errorsOnly = false): string {
  const names = RED_METRICS[side].map((n) => `${n}${suffix}`).join('|');
  const matchers = [`__name__=~${JSON.stringify(names)}`];
  for (const [k, v] of Object.entries(where)) matchers.push(`${k}=${JSON.stringify(v)}`);
  if (errorsOnly) matchers.push(RED_METRICS.errorMatcher);
  return `{${matchers.join(', ')}}`;
}

export interface RedRangeQueries {
  requests: string;
  errors: string;
  /** Failed share 0..1 (absent where there were no requests). */
  errorRate: string;
  p50: string;
  p95: string;
  p99: string;
}

/** RED over time for one selection, grouped `by` (empty: one series); `windowS` is the rate window. */
export function redRangeQueries(
  side: Side,
  where: Record<string, string>,
  by: readonly string[],
  windowS: number,
): RedRangeQueries {
  const w = `[${Math.max(1, Math.round(windowS))}s]`;
  const grp = by.length ? ` by (${by.join(', ')})` : '';
  const rate = (suffix: string, errorsOnly = false) =>
    `rate(${selector(side, suffix, where, errorsOnly)}${w})`;
  const requests = `sum${grp} (${rate('_count')})`;
  const errors = `sum${grp} (${rate('_count', true)})`;
  const q = (x: number) =>
    `histogram_quantile(${x}, sum by (${[...by, 'le'].join(', ')}) (${rate('_bucket')}))`;
  return {
    requests,
    errors,
    // `or 0*requests`: a selection with requests but no errors has an error rate of 0, not a gap.
    errorRate: `(${errors} or 0 * ${requests}) / ${requests}`,
    p50: q(0.5),
    p95: q(0.95),
    p99: q(0.99),
  };
}

/** A rate window for a range query at `stepMs`: at least a minute so 15-30 s scrapes give two samples. */
export function rateWindowS(stepMs: number): number {
  return Math.max(60, Math.round(stepMs / 1000));
}
