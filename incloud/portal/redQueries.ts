/**
 * Every PromQL query behind the services page and the service map, in ONE file, because the sensor's metric
 * names and labels (issue 5) may still change. The sensor exports OpenTelemetry-named histograms in Prometheus
 * form with the labels workload, namespace, peer, protocol, method, resource, status:
 * a SERVER histogram counts requests a workload received; a CLIENT histogram counts calls it made to `peer`.
 */
export const RED_METRICS = {
  server: ['http_server_request_duration_seconds', 'rpc_server_duration_seconds'],
  client: [
    'http_client_request_duration_seconds',
    'rpc_client_duration_seconds',
    'db_client_operation_duration_seconds',
    'messaging_client_operation_duration_seconds',
  ],
  /** `status` label values that count as errors (HTTP 5xx, gRPC/DB/messaging failures). */
  errorStatus: '5..|error|ERROR',
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
    errors: `sum by (${by}) (${rate('_count', `status=~${JSON.stringify(RED_METRICS.errorStatus)}`)})`,
    quantiles: QUANTILES.map((q) => ({
      q,
      query: `histogram_quantile(${q}, sum by (${[...s.by, 'le'].join(', ')}) (${rate('_bucket')}))`,
    })),
  };
}
