/**
 * Data for the data pages' end-to-end test: an hour of RED histograms in the sensor's metric names and labels
 * (sensor/pipeline/redMetrics.ts), sent to VictoriaMetrics by Prometheus remote write (the ingester's own
 * encoder), and Kubernetes events rows as the k8s-watcher stores them.
 *
 * `checkout` serves at constant rates with known buckets, so its figures are exact: 1.5 requests/s, 0.1/s
 * failed (6.67%), p50 100 ms, p95 750 ms, p99 950 ms. The other services vary over time (so charts and
 * sparklines have shape); their figures are not asserted.
 *
 * Container resource metrics in the sensor's names and labels (sensor/pipeline/README.md, "Resource
 * metrics") for checkout's two pods, each with an app and a sidecar container: per pod exactly 250m and 500m
 * of CPU, 128 MiB and 192 MiB of working set.
 */
import {
  encodeRemoteWrite,
  postRemoteWrite,
  type RemoteSeries,
} from '../../../incloud/ingester/remoteWrite.ts';
import { RED_METRIC_NAMES } from '../../../sensor/pipeline/redMetrics.ts';

const STEP_MS = 15_000;
const HOUR_MS = 3_600_000;

/** Cumulative share of requests at or under each bound. */
type Buckets = [le: string, share: number][];
const CHECKOUT_BUCKETS: Buckets = [
  ['0.1', 0.5],
  ['0.5', 0.9],
  ['1', 1],
  ['+Inf', 1],
];
const FAST: Buckets = [
  ['0.005', 0.3],
  ['0.025', 0.8],
  ['0.1', 0.97],
  ['0.5', 0.995],
  ['+Inf', 1],
];
const SLOWISH: Buckets = [
  ['0.025', 0.2],
  ['0.1', 0.6],
  ['0.5', 0.92],
  ['1', 0.99],
  ['+Inf', 1],
];

interface Flow {
  family: keyof typeof RED_METRIC_NAMES;
  side: 'server' | 'client';
  workload: string;
  peer?: string;
  protocol: string;
  method: string;
  resource: string;
  status: string;
  error: boolean;
  /** Requests per second at `minute` (0..60 over the hour). */
  rate: (minute: number) => number;
  buckets: Buckets;
}

const constant = (r: number) => () => r;
const wave =
  (base: number, amp: number, periodMin: number, phase = 0) =>
  (m: number) =>
    Math.max(0, base * (1 + amp * Math.sin((2 * Math.PI * (m + phase)) / periodMin)));
/** Errors that start `fromMin` minutes into the hour (an incident). */
const incident = (r: number, fromMin: number) => (m: number) =>
  m >= fromMin ? r * (1 + 0.5 * Math.sin(m)) : 0;

const s = (workload: string, protocol: string, method: string, resource: string) => ({
  family: 'http' as const,
  side: 'server' as const,
  workload,
  protocol,
  method,
  resource,
});

export const FLOWS: Flow[] = [
  // checkout: exact figures (see the header).
  {
    ...s('checkout', 'http', 'GET', '/api/orders/{id}'),
    status: '200',
    error: false,
    rate: constant(1),
    buckets: CHECKOUT_BUCKETS,
  },
  {
    ...s('checkout', 'http', 'GET', '/api/orders/{id}'),
    status: '500',
    error: true,
    rate: constant(0.1),
    buckets: CHECKOUT_BUCKETS,
  },
  {
    ...s('checkout', 'http', 'POST', '/api/cart'),
    status: '200',
    error: false,
    rate: constant(0.4),
    buckets: CHECKOUT_BUCKETS,
  },
  {
    ...s('frontend', 'http', 'GET', '/'),
    status: '200',
    error: false,
    rate: wave(6, 0.35, 30),
    buckets: FAST,
  },
  {
    ...s('frontend', 'http', 'GET', '/api/products/{id}'),
    status: '200',
    error: false,
    rate: wave(9, 0.3, 20, 5),
    buckets: FAST,
  },
  {
    ...s('frontend', 'http', 'POST', '/api/checkout'),
    status: '200',
    error: false,
    rate: wave(1.2, 0.5, 25),
    buckets: FAST,
  },
  {
    ...s('frontend', 'http', 'POST', '/api/checkout'),
    status: '502',
    error: true,
    rate: incident(0.05, 40),
    buckets: FAST,
  },
  {
    ...s('payments', 'http', 'POST', '/charge'),
    status: '200',
    error: false,
    rate: wave(0.5, 0.2, 15),
    buckets: SLOWISH,
  },
  {
    ...s('payments', 'http', 'POST', '/charge'),
    status: '503',
    error: true,
    rate: incident(0.04, 35),
    buckets: SLOWISH,
  },
  {
    ...s('inventory', 'http', 'GET', '/stock/{sku}'),
    status: '200',
    error: false,
    rate: wave(4, 0.25, 12),
    buckets: FAST,
  },
  {
    ...s('inventory', 'http', 'PUT', '/stock/{sku}'),
    status: '200',
    error: false,
    rate: wave(0.3, 0.6, 18),
    buckets: FAST,
  },
  {
    family: 'rpc',
    side: 'server',
    workload: 'auth',
    protocol: 'grpc',
    method: 'auth.v1.Auth/Verify',
    resource: 'auth.v1.Auth/Verify',
    status: '0',
    error: false,
    rate: wave(7, 0.3, 30, 10),
    buckets: FAST,
  },
  // Calls between workloads and to things outside the cluster (the map's edges).
  {
    family: 'http',
    side: 'client',
    workload: 'frontend',
    peer: 'checkout',
    protocol: 'http',
    method: 'GET',
    resource: '/api/orders/{id}',
    status: '200',
    error: false,
    rate: constant(1.1),
    buckets: CHECKOUT_BUCKETS,
  },
  {
    family: 'http',
    side: 'client',
    workload: 'frontend',
    peer: 'inventory',
    protocol: 'http',
    method: 'GET',
    resource: '/stock/{sku}',
    status: '200',
    error: false,
    rate: wave(4, 0.25, 12),
    buckets: FAST,
  },
  {
    family: 'rpc',
    side: 'client',
    workload: 'frontend',
    peer: 'auth',
    protocol: 'grpc',
    method: 'auth.v1.Auth/Verify',
    resource: 'auth.v1.Auth/Verify',
    status: '0',
    error: false,
    rate: wave(7, 0.3, 30, 10),
    buckets: FAST,
  },
  {
    family: 'http',
    side: 'client',
    workload: 'checkout',
    peer: 'payments',
    protocol: 'http',
    method: 'POST',
    resource: '/charge',
    status: '200',
    error: false,
    rate: constant(0.5),
    buckets: SLOWISH,
  },
  {
    family: 'db',
    side: 'client',
    workload: 'checkout',
    peer: 'postgres.db',
    protocol: 'postgres',
    method: 'SELECT',
    resource: 'SELECT orders',
    status: 'ok',
    error: false,
    rate: constant(2),
    buckets: FAST,
  },
  {
    family: 'db',
    side: 'client',
    workload: 'checkout',
    peer: 'postgres.db',
    protocol: 'postgres',
    method: 'SELECT',
    resource: 'SELECT orders',
    status: '57014',
    error: true,
    rate: constant(0.2),
    buckets: FAST,
  },
  {
    family: 'db',
    side: 'client',
    workload: 'inventory',
    peer: 'redis.cache',
    protocol: 'redis',
    method: 'GET',
    resource: 'GET',
    status: 'ok',
    error: false,
    rate: wave(12, 0.2, 12),
    buckets: FAST,
  },
  {
    family: 'http',
    side: 'client',
    workload: 'payments',
    peer: 'api.stripe.com',
    protocol: 'http',
    method: 'POST',
    resource: '/v1/charges',
    status: '200',
    error: false,
    rate: wave(0.5, 0.2, 15),
    buckets: SLOWISH,
  },
];

/** One series per flow and suffix (`_count`, `_sum`, `_bucket` per bound) with a sample every 15 s. */
export function redSeries(endMs: number, flows: Flow[] = FLOWS): RemoteSeries[] {
  const out: RemoteSeries[] = [];
  for (const f of flows) {
    const metric = RED_METRIC_NAMES[f.family][f.side];
    const labels: Record<string, string> = {
      workload: f.workload,
      namespace: 'shop',
      peer: f.peer ?? '',
      protocol: f.protocol,
      role: f.side,
      method: f.method,
      resource: f.resource,
      status: f.status,
      error: String(f.error),
    };
    for (const k of Object.keys(labels)) if (labels[k] === '') delete labels[k];
    const counts: { t: number; n: number }[] = [];
    let n = 0;
    for (let t = endMs - HOUR_MS; t <= endMs; t += STEP_MS) {
      counts.push({ t, n });
      n += f.rate((t - (endMs - HOUR_MS)) / 60_000) * (STEP_MS / 1000);
    }
    const series = (name: string, extra: Record<string, string>, value: (n: number) => number) =>
      out.push({
        labels: { __name__: name, ...labels, ...extra },
        samples: counts.map((c) => ({ timestampMs: c.t, value: value(c.n) })),
      });
    series(`${metric}_count`, {}, (c) => c);
    series(`${metric}_sum`, {}, (c) => c * 0.2);
    for (const [le, share] of f.buckets) series(`${metric}_bucket`, { le }, (c) => c * share);
  }
  return out;
}

const MIB = 1024 * 1024;
export const CHECKOUT_PODS = [
  { pod: 'checkout-5f4b-k9', cores: 0.25, bytes: 128 * MIB },
  { pod: 'checkout-5f4b-x2', cores: 0.5, bytes: 192 * MIB },
];

/** `container_cpu_usage_seconds_total` and `container_memory_working_set_bytes` of checkout's pods. */
export function resourceSeries(endMs: number): RemoteSeries[] {
  const out: RemoteSeries[] = [];
  for (const p of CHECKOUT_PODS) {
    // The app takes 80 % of the pod's CPU and all but 16 MiB of its memory; the sidecar the rest.
    const containers = [
      { container: 'checkout', cores: p.cores * 0.8, bytes: p.bytes - 16 * MIB },
      { container: 'istio-proxy', cores: p.cores * 0.2, bytes: 16 * MIB },
    ];
    for (const c of containers) {
      const labels = {
        namespace: 'shop',
        workload: 'checkout',
        pod: p.pod,
        container: c.container,
        host: 'node-a',
      };
      const times: number[] = [];
      for (let t = endMs - HOUR_MS; t <= endMs; t += STEP_MS) times.push(t);
      out.push({
        labels: { __name__: 'container_cpu_usage_seconds_total', ...labels },
        samples: times.map((t, i) => ({ timestampMs: t, value: 1000 + (i * c.cores * STEP_MS) / 1000 })),
      });
      out.push({
        labels: { __name__: 'container_memory_working_set_bytes', ...labels },
        samples: times.map((t) => ({ timestampMs: t, value: c.bytes })),
      });
    }
  }
  return out;
}

/** Remote-writes the RED and resource series to VictoriaMetrics' /api/v1/write in a few bodies. */
export async function writeRedSeries(vmUrl: string, endMs: number): Promise<number> {
  const all = [...redSeries(endMs), ...resourceSeries(endMs)];
  for (let i = 0; i < all.length; i += 40) {
    await postRemoteWrite(`${vmUrl}/api/v1/write`, encodeRemoteWrite(all.slice(i, i + 40)));
  }
  return all.length;
}

/** `YYYY-MM-DD hh:mm:ss.mmm` (UTC), which DateTime64 columns accept. */
const dt = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/** Kubernetes events over the last hour, as the k8s-watcher writes them into `k8s_events`. */
export function eventRows(endMs: number): Record<string, unknown>[] {
  const ev = (
    i: number,
    minutesAgo: number,
    type: 'Normal' | 'Warning',
    reason: string,
    kind: string,
    name: string,
    message: string,
    count = 1,
    workload = '',
  ) => ({
    Uid: `e2e-event-${i}`,
    Namespace: 'shop',
    Name: `${name}.${(0x17a0 + i).toString(16)}`,
    Type: type,
    Reason: reason,
    Message: message,
    Count: count,
    FirstTimestamp: dt(endMs - minutesAgo * 60_000 - (count - 1) * 60_000),
    LastTimestamp: dt(endMs - minutesAgo * 60_000),
    InvolvedObjectKind: kind,
    InvolvedObjectNamespace: 'shop',
    InvolvedObjectName: name,
    Workload: workload,
    SourceComponent: kind === 'Pod' ? 'kubelet' : 'deployment-controller',
    SourceHost: kind === 'Pod' ? 'node-a' : '',
  });
  return [
    ev(
      1,
      52,
      'Normal',
      'ScalingReplicaSet',
      'Deployment',
      'payments',
      'Scaled up replica set payments-66c1 to 3',
      1,
      'payments',
    ),
    ev(
      2,
      50,
      'Normal',
      'Scheduled',
      'Pod',
      'payments-66c1-q1',
      'Successfully assigned shop/payments-66c1-q1 to node-a',
      1,
      'payments',
    ),
    ev(
      3,
      49,
      'Normal',
      'Pulled',
      'Pod',
      'payments-66c1-q1',
      'Container image "registry.example/payments:1.8.2" already present on machine',
      1,
      'payments',
    ),
    ev(4, 49, 'Normal', 'Started', 'Pod', 'payments-66c1-q1', 'Started container payments', 1, 'payments'),
    ev(
      5,
      24,
      'Warning',
      'Unhealthy',
      'Pod',
      'payments-66c1-q1',
      'Readiness probe failed: HTTP probe failed with statuscode: 503',
      7,
      'payments',
    ),
    ev(
      6,
      12,
      'Warning',
      'BackOff',
      'Pod',
      'checkout-5f4b-k9',
      'Back-off restarting failed container checkout in pod checkout-5f4b-k9',
      4,
      'checkout',
    ),
    ev(
      7,
      8,
      'Warning',
      'FailedScheduling',
      'Pod',
      'inventory-7c2d-z4',
      '0/3 nodes are available: 3 Insufficient memory.',
      2,
      'inventory',
    ),
    ev(8, 3, 'Normal', 'Killing', 'Pod', 'checkout-5f4b-k9', 'Stopping container checkout', 1, 'checkout'),
  ];
}
