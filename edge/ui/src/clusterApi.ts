/**
 * A cluster's data through the edge: `/api/orgs/{org}/clusters/{cluster}/...` (edge/src/routes/clusterData.ts),
 * answered by the cluster's portal (incloud/portal/README.md). Times are epoch milliseconds. The answer shapes
 * are the tunnel's own types (lib/tunnel/queries.ts, imported as types only: nothing of it is bundled).
 */
import type {
  LogsSearchAnswer,
  RedFigures,
  ServiceEdge,
  ServiceNode,
  SpanSummary,
} from '../../../lib/tunnel/queries.ts';
import { api } from './api.ts';

export type { LogsSearchAnswer, RedFigures, ServiceEdge, ServiceNode, SpanSummary };

/** Which cluster of which organization a data page reads. */
export interface ClusterRef {
  orgId: string;
  clusterId: string;
}

export type QueryArgs = Record<string, string | number | boolean | undefined | null>;

export function clusterUrl(ref: ClusterRef, path: string, args: QueryArgs = {}): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(args))
    if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  const q = qs.toString();
  return `/api/orgs/${encodeURIComponent(ref.orgId)}/clusters/${encodeURIComponent(ref.clusterId)}/${path}${q ? `?${q}` : ''}`;
}

/** GET one of the portal's JSON queries (`services`, `service-map`, `events`, `logs`, `traces`, ...). */
export function clusterGet<T>(ref: ClusterRef, path: string, args: QueryArgs = {}): Promise<T> {
  return api<T>('GET', clusterUrl(ref, path, args));
}

export interface ServiceResource extends RedFigures {
  protocol: string;
  method: string;
  resource: string;
}

export interface KubeEvent {
  uid: string;
  namespace: string;
  name: string;
  type: string;
  reason: string;
  message: string;
  count: number;
  firstTimestampMs: string;
  lastTimestampMs: string;
  kind: string;
  objectNamespace: string;
  objectName: string;
  workload: string;
  source: string;
  host: string;
}

export const clusterData = {
  services: (ref: ClusterRef, r: { start: number; end: number }, namespace?: string) =>
    clusterGet<{ services: ServiceNode[] }>(ref, 'services', { start: r.start, end: r.end, namespace }),
  resources: (ref: ClusterRef, r: { start: number; end: number }, namespace: string, workload: string) =>
    clusterGet<{ namespace: string; workload: string; resources: ServiceResource[] }>(
      ref,
      `services/${encodeURIComponent(namespace)}/${encodeURIComponent(workload)}/resources`,
      { start: r.start, end: r.end },
    ),
  serviceMap: (ref: ClusterRef, r: { start: number; end: number }, namespace?: string) =>
    clusterGet<{ nodes: (ServiceNode & { external: boolean })[]; edges: ServiceEdge[] }>(ref, 'service-map', {
      start: r.start,
      end: r.end,
      namespace,
    }),
  events: (ref: ClusterRef, args: QueryArgs & { start: number; end: number }) =>
    clusterGet<{ events: KubeEvent[] }>(ref, 'events', args),
};

// ---- Prometheus API (VictoriaMetrics through the tunnel) ----

export type PromLabels = Record<string, string>;
export type PromMatrix = { metric: PromLabels; values: [number, string][] }[];
export type PromVector = { metric: PromLabels; value: [number, string] }[];
export type PromResult =
  | { resultType: 'matrix'; result: PromMatrix }
  | { resultType: 'vector'; result: PromVector }
  | { resultType: 'scalar' | 'string'; result: [number, string] };

interface PromEnvelope<T> {
  status: 'success' | 'error';
  data: T;
  warnings?: string[];
}

/** Prometheus API call; errors (`{status:'error', error}`) become ApiError with Prometheus' message. */
async function prom<T>(
  ref: ClusterRef,
  endpoint: string,
  args: QueryArgs,
): Promise<{ data: T; warnings: string[] }> {
  const env = await api<PromEnvelope<T>>('GET', clusterUrl(ref, `prometheus/api/v1/${endpoint}`, args));
  return { data: env.data, warnings: env.warnings ?? [] };
}

export const promApi = {
  /** Range query; start/end/step in milliseconds (sent as seconds). */
  queryRange: (ref: ClusterRef, query: string, start: number, end: number, stepMs: number) =>
    prom<PromResult>(ref, 'query_range', {
      query,
      start: start / 1000,
      end: end / 1000,
      step: `${Math.max(1, Math.round(stepMs / 1000))}s`,
    }),
  query: (ref: ClusterRef, query: string, time: number) =>
    prom<PromResult>(ref, 'query', { query, time: time / 1000 }),
  labelValues: (ref: ClusterRef, label: string, match?: string) =>
    prom<string[]>(ref, `label/${encodeURIComponent(label)}/values`, { 'match[]': match }),
  metricNames: (ref: ClusterRef) => prom<string[]>(ref, 'label/__name__/values', {}),
};
