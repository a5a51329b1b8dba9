/**
 * The traces queries of a cluster, read through the edge and the cluster's portal
 * (`/api/orgs/{org}/clusters/{cluster}/traces...`, incloud/portal/README.md "Traces"). Timestamps and durations
 * come as epoch nanoseconds in decimal strings: JSON numbers would lose precision past 2^53.
 */
import type { SpanSummary } from '../../../../../lib/tunnel/queries.ts';
import { api } from '../../api.ts';

export type { SpanSummary };

export const TRACE_STATUSES = ['error', 'ok', 'unset'] as const;
export type TraceStatusFilter = (typeof TRACE_STATUSES)[number];

export interface TraceSpan extends SpanSummary {
  attributes: Record<string, string>;
}

export interface SpanDetail extends SpanSummary {
  attributes: Record<string, string>;
  resource: Record<string, string>;
  scopeName: string;
  statusMessage: string;
  /** `http.request.header.*` and `http.response.header.*` attributes, as the sensor redacted them. */
  headers: Record<string, string>;
  /** Attributes naming a body (truncated and redacted by the sensor). */
  bodies: Record<string, string>;
  events: { name: string; timestamp: string; attributes: Record<string, string> }[];
  links: { traceId: string; spanId: string }[];
}

export interface TraceSearch {
  start: number;
  end: number;
  service?: string;
  resource?: string;
  status?: TraceStatusFilter;
  minDurationMs?: number;
  maxDurationMs?: number;
  /** Only spans without a parent: one row per trace. */
  rootOnly?: boolean;
  limit?: number;
}

const clusterBase = (orgId: string, clusterId: string) =>
  `/api/orgs/${encodeURIComponent(orgId)}/clusters/${encodeURIComponent(clusterId)}`;

export function searchTraces(orgId: string, clusterId: string, q: TraceSearch) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') qs.set(k, String(v));
  return api<{ spans: SpanSummary[] }>('GET', `${clusterBase(orgId, clusterId)}/traces?${qs}`);
}

export function getTrace(orgId: string, clusterId: string, traceId: string) {
  return api<{ traceId: string; spans: TraceSpan[] }>(
    'GET',
    `${clusterBase(orgId, clusterId)}/traces/${encodeURIComponent(traceId)}`,
  );
}

export function getSpan(orgId: string, clusterId: string, traceId: string, spanId: string) {
  return api<SpanDetail>(
    'GET',
    `${clusterBase(orgId, clusterId)}/traces/${encodeURIComponent(traceId)}/spans/${encodeURIComponent(spanId)}`,
  );
}

/** Both spellings in the wild: the collector's `STATUS_CODE_ERROR` and the short `Error`. */
export function statusOf(raw: string): 'error' | 'ok' | 'unset' {
  const s = raw.toLowerCase();
  if (s.includes('error')) return 'error';
  if (s.includes('ok')) return 'ok';
  return 'unset';
}

/** `SPAN_KIND_SERVER` / `Server` -> `server`. */
export function kindOf(raw: string): string {
  return raw.replace(/^SPAN_KIND_/i, '').toLowerCase() || 'internal';
}
