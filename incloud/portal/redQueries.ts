import { RED_METRIC_NAMES } from '../../sensor/pipeline/redMetrics.ts';

/**
 * Every PromQL query behind the services page and the service map, in ONE file. The metric names come from the
 * sensor itself (sensor/pipeline/redMetrics.ts), so the two cannot drift apart. The sensor exports
 * OpenTelemetry-named histograms in Prometheus form with the labels workload, namespace, peer, protocol, role,
 * method, resource, status, error: a SERVER histogram counts requests a workload received; a CLIENT histogram
 * counts calls it made to `peer`.
 */
const FAMILIES = Object.values(RED_METRIC_NAMES);

export const RED_METRICS = {
  server: FAMILIES.map((f) => f.server),
  client: FAMILIES.map((f) => f.client),
  /**
   * The error matcher: the sensor's own verdict, `error="true"` (an HTTP 5xx, a gRPC status other than OK, a
   * database or broker error reply...). The `status` label holds protocol-specific codes (HTTP status, SQLSTATE,
   * gRPC code) that no single pattern can classify.
   */
  errorMatcher: 'error="true"',
} as const;

export const QUANTILES = [0.5, 0.95, 0.99] as const;

/** Label values that may be placed in a selector; quoted anyway. Kubernetes names and host process names fit. */
const LABEL_VALUE = /^[A-Za-z0-9_.:/@-]{1,256}$/;

/** A PromQL string literal. Values are validated first, so quoting is a second line of defence. */
export function promString(value: string): string {
  if (!LABEL_VALUE.test(value))
    throw new Error(`cannot use ${JSON.stringify(value.slice(0, 64))} as a label value`);
  return JSON.stringify(value);
}

export interface RedSelection {
  side: 'server' | 'client';
  /** Labels to group by (besides `le` for quantiles). */
  by: readonly string[];
  /** Equality matchers (label -> value). */
  where: Record<string, string>;
  /** Rate window in seconds: the whole selected time range. */
  windowS: number;
}

export interface RedPromQL {
  requests: string;
  errors: string;
  quantiles: { q: number; query: string }[];
}

function selector(
  names: readonly string[],
  suffix: string,
  where: Record<string, string>,
  extra = '',
): string {
  const matchers = [`__name__=~${JSON.stringify(names.map((n) => `${n}${suffix}`).join('|'))}`];
  for (const [label, value] of Object.entries(where)) matchers.push(`${label}=${promString(value)}`);
  if (extra) matchers.push(extra);
  return `{${matchers.join(', ')}}`;
}

/** Request rate, error rate and latency quantiles of one selection, as separate instant queries. */
export function redQueries(s: RedSelection): RedPromQL {
  const names = RED_METRICS[s.side];
  const by = s.by.join(', ');
  const window = `[${Math.max(1, Math.round(s.windowS))}s]`;
  const rate = (suffix: string, extra = '') => `rate(${selector(names, suffix, s.where, extra)}${window})`;
  return {
    requests: `sum by (${by}) (${rate('_count')})`,
    errors: `sum by (${by}) (${rate('_count', RED_METRICS.errorMatcher)})`,
    quantiles: QUANTILES.map((q) => ({
      q,
      query: `histogram_quantile(${q}, sum by (${[...s.by, 'le'].join(', ')}) (${rate('_bucket')}))`,
    })),
  };
}
