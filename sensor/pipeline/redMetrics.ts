import type { ProtocolName, Role } from '../protocols/contract.ts';

/**
 * Which histogram an API call lands in: OpenTelemetry semantic-convention metric names in Prometheus form
 * (dots -> underscores, unit `s` -> `_seconds`). The sensor sees both ends of a connection, so a call is
 * a SERVER call when the observed process answered it and a CLIENT call when it made it; `unknown` roles
 * count as client calls (the observed process sent the request bytes first in most such captures).
 *
 * Semantic conventions name no server-side metric for databases, messaging brokers or DNS servers; the sensor
 * still sees such calls when it watches a database or broker process, and reports them under the `_server_`
 * names below (our extension, documented in README.md).
 */
export const RED_METRIC_NAMES = {
  http: { server: 'http_server_request_duration_seconds', client: 'http_client_request_duration_seconds' },
  rpc: { server: 'rpc_server_duration_seconds', client: 'rpc_client_duration_seconds' },
  db: { server: 'db_server_operation_duration_seconds', client: 'db_client_operation_duration_seconds' },
  messaging: {
    server: 'messaging_server_operation_duration_seconds',
    client: 'messaging_client_operation_duration_seconds',
  },
  dns: { server: 'dns_server_request_duration_seconds', client: 'dns_lookup_duration_seconds' },
} as const;

export type MetricFamily = keyof typeof RED_METRIC_NAMES;

export const PROTOCOL_FAMILY: Record<ProtocolName, MetricFamily> = {
  http: 'http',
  http2: 'http',
  grpc: 'rpc',
  postgres: 'db',
  mysql: 'db',
  redis: 'db',
  mongodb: 'db',
  kafka: 'messaging',
  amqp: 'messaging',
  nats: 'messaging',
  dns: 'dns',
};

export function redMetricName(protocol: ProtocolName, role: Role): string {
  const names = RED_METRIC_NAMES[PROTOCOL_FAMILY[protocol]];
  return role === 'server' ? names.server : names.client;
}

/** The label names of every RED histogram, in this order (plus `le` on `_bucket`). */
export const RED_LABELS = [
  'workload',
  'namespace',
  'peer',
  'protocol',
  'role',
  'method',
  'resource',
  'status',
  'error',
] as const;

/**
 * Bucket bounds in seconds: OpenTelemetry's advisory bounds for HTTP durations, with sub-millisecond bounds
 * added in front because cache and database calls seen on a node are often faster than 5 ms.
 */
export const DEFAULT_BUCKETS_S = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];
