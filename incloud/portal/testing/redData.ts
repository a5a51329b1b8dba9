import { RED_LABELS } from '../../../sensor/pipeline/redMetrics.ts';

/**
 * RED histograms in the sensor's naming and labels (sensor/pipeline/redMetrics.ts RED_LABELS) as Prometheus text with millisecond
 * timestamps, for import into VictoriaMetrics: one sample every 15 s over the hour before `endMs`, counters
 * growing at fixed rates so expected rates and quantile buckets are known exactly.
 */
export interface RedSeries {
  metric: string;
  labels: Record<string, string>;
  /** Requests per second. */
  rate: number;
}

/** Share of requests at or under each bucket bound; interpolated quantiles: p50 0.1 s, p95 0.75 s, p99 0.95 s. */
export const BUCKETS: [string, number][] = [
  ['0.1', 0.5],
  ['0.5', 0.9],
  ['1', 1],
  ['+Inf', 1],
];

export const RED_SERIES: RedSeries[] = [
  {
    metric: 'http_server_request_duration_seconds',
    labels: {
      namespace: 'shop',
      workload: 'checkout',
      protocol: 'http',
      method: 'GET',
      resource: '/api/orders/{id}',
      role: 'server',
      status: '200',
      error: 'false',
    },
    rate: 1,
  },
  {
    metric: 'http_server_request_duration_seconds',
    labels: {
      namespace: 'shop',
      workload: 'checkout',
      protocol: 'http',
      method: 'GET',
      resource: '/api/orders/{id}',
      role: 'server',
      status: '500',
      error: 'true',
    },
    rate: 0.1,
  },
  {
    metric: 'http_server_request_duration_seconds',
    labels: {
      namespace: 'shop',
      workload: 'checkout',
      protocol: 'http',
      method: 'POST',
      resource: '/api/cart',
      role: 'server',
      status: '200',
      error: 'false',
    },
    rate: 0.4,
  },
  {
    metric: 'http_server_request_duration_seconds',
    labels: {
      namespace: 'shop',
      workload: 'payments',
      protocol: 'http',
      method: 'POST',
      resource: '/charge',
      role: 'server',
      status: '200',
      error: 'false',
    },
    rate: 0.5,
  },
  {
    metric: 'http_client_request_duration_seconds',
    labels: {
      namespace: 'shop',
      workload: 'checkout',
      peer: 'payments',
      protocol: 'http',
      method: 'POST',
      resource: '/charge',
      role: 'client',
      status: '200',
      error: 'false',
    },
    rate: 0.5,
  },
  {
    metric: 'db_client_operation_duration_seconds',
    labels: {
      namespace: 'shop',
      workload: 'checkout',
      peer: 'postgres.db',
      protocol: 'postgres',
      method: 'SELECT',
      resource: 'SELECT orders',
      role: 'client',
      status: 'ok',
      error: 'false',
    },
    rate: 2,
  },
  {
    metric: 'db_client_operation_duration_seconds',
    labels: {
      namespace: 'shop',
      workload: 'checkout',
      peer: 'postgres.db',
      protocol: 'postgres',
      method: 'SELECT',
      resource: 'SELECT orders',
      role: 'client',
      status: '42P01',
      error: 'true',
    },
    rate: 0.2,
  },
];

const STEP_MS = 15_000;

/**
 * The labels in the order the sensor writes them; a fixture missing one of the sensor's labels is a mistake
 * (server series have no peer here: the sensor leaves it empty, which Prometheus treats as absent).
 */
function sensorLabels(labels: Record<string, string>): [string, string][] {
  for (const name of ['role', 'status', 'error'] as const)
    if (!(name in labels)) throw new Error(`RED fixture lacks the sensor's ${name} label`);
  const unknown = Object.keys(labels).filter((k) => !(RED_LABELS as readonly string[]).includes(k));
  if (unknown.length > 0) throw new Error(`RED fixture has labels the sensor does not write: ${unknown}`);
  return RED_LABELS.filter((k) => labels[k] !== undefined).map((k) => [k, labels[k]!]);
}

export function redImportText(endMs: number, series: RedSeries[] = RED_SERIES): string {
  const lines: string[] = [];
  for (let t = endMs - 3_600_000; t <= endMs; t += STEP_MS) {
    const seconds = (t - (endMs - 3_600_000)) / 1000;
    for (const s of series) {
      const count = s.rate * seconds;
      const labels = sensorLabels(s.labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
      lines.push(`${s.metric}_count{${labels.join(',')}} ${count} ${t}`);
      lines.push(`${s.metric}_sum{${labels.join(',')}} ${count * 0.2} ${t}`);
      for (const [le, share] of BUCKETS)
        lines.push(`${s.metric}_bucket{${[...labels, `le="${le}"`].join(',')}} ${count * share} ${t}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export async function importRedData(vmUrl: string, endMs: number): Promise<void> {
  const res = await fetch(`${vmUrl}/api/v1/import/prometheus`, {
    method: 'POST',
    body: redImportText(endMs),
  });
  if (!res.ok)
    throw new Error(`cannot import RED data into VictoriaMetrics: HTTP ${res.status} ${await res.text()}`);
}
