/**
 * The queries a portal answers: each request kind with the schema of its `params`. Shared by the edge (which
 * validates a caller's input before it enters the tunnel and answers 400 at once) and the portal (which
 * validates again, because it trusts nothing it did not check itself).
 *
 * Times are epoch milliseconds. Every list has a `limit`; the portal clamps ranges and limits further with its
 * own configuration (incloud/portal/limits.ts).
 */
import { z } from 'zod';
import { MONITOR_QUERY_PARAMS } from './monitors.ts';

const epochMs = z.number().int().min(0).max(4_102_444_800_000); // up to 2100-01-01
const name = z.string().min(1).max(256);
const limit = (max: number, fallback: number) => z.number().int().min(1).max(max).default(fallback);

const timeRange = { start: epochMs, end: epochMs };
const checkRange = (p: { start: number; end: number }) => p.end > p.start;
const rangeMessage = { message: 'end must be after start', path: ['end'] };

/** Prometheus HTTP API paths passed through to VictoriaMetrics; nothing else reaches it. */
export const PROM_PATHS = [
  '/api/v1/query',
  '/api/v1/query_range',
  '/api/v1/series',
  '/api/v1/labels',
  '/api/v1/metadata',
] as const;
/** `/api/v1/label/<name>/values`; label names as Prometheus allows them. */
export const PROM_LABEL_VALUES_PATH = /^\/api\/v1\/label\/[A-Za-z_][A-Za-z0-9_]{0,127}\/values$/;

export function isAllowedPromPath(path: string): boolean {
  return (PROM_PATHS as readonly string[]).includes(path) || PROM_LABEL_VALUES_PATH.test(path);
}

export const promParams = z.strictObject({
  path: z.string().max(200).refine(isAllowedPromPath, 'is not a read-only Prometheus API path'),
  method: z.enum(['GET', 'POST']),
  /** Query string or form fields as pairs, in order: Prometheus repeats `match[]`. */
  args: z
    .array(z.tuple([z.string().min(1).max(64), z.string().max(64 * 1024)]))
    .max(100)
    .default([]),
});

export const logsSearchParams = z
  .strictObject({
    ...timeRange,
    /** The logs query language (incloud/portal/logs/README in the portal's docs). */
    query: z.string().max(2000).default(''),
    limit: limit(1000, 100),
    /**
     * Which end of the range the `limit` rows come from: `desc` the newest first (a search), `asc` the oldest
     * first (the lines after a point: log context, a live tail reading on from a cursor without gaps).
     */
    order: z.enum(['desc', 'asc']).default('desc'),
    /** Buckets of the count histogram over [start, end). */
    buckets: z.number().int().min(1).max(500).default(60),
  })
  .refine(checkRange, rangeMessage);

export const TRACE_STATUSES = ['error', 'ok', 'unset'] as const;

export const tracesSearchParams = z
  .strictObject({
    ...timeRange,
    service: name.optional(),
    /** Span name or `http.route` / `url.path` attribute, exact. */
    resource: z.string().min(1).max(1024).optional(),
    status: z.enum(TRACE_STATUSES).optional(),
    minDurationMs: z.number().min(0).max(86_400_000).optional(),
    maxDurationMs: z.number().min(0).max(86_400_000).optional(),
    /** Only spans without a parent: the entry of each trace, so a list of traces. Text `true`/`false` too (query strings). */
    rootOnly: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).optional(),
    limit: limit(1000, 50),
  })
  .refine(checkRange, rangeMessage);

const hexId = (chars: number) =>
  z
    .string()
    .regex(new RegExp(`^[0-9a-fA-F]{${chars}}$`), `must be ${chars} hex digits`)
    .transform((s) => s.toLowerCase());

export const traceGetParams = z.strictObject({ traceId: hexId(32) });
export const spanGetParams = z.strictObject({ traceId: hexId(32), spanId: hexId(16) });

export const eventsListParams = z
  .strictObject({
    ...timeRange,
    namespace: name.optional(),
    kind: name.optional(),
    name: name.optional(),
    type: z.enum(['Normal', 'Warning']).optional(),
    reason: name.optional(),
    limit: limit(1000, 100),
  })
  .refine(checkRange, rangeMessage);

export const servicesParams = z
  .strictObject({
    ...timeRange,
    namespace: name.optional(),
  })
  .refine(checkRange, rangeMessage);

export const serviceResourcesParams = z
  .strictObject({
    ...timeRange,
    namespace: name,
    workload: name,
  })
  .refine(checkRange, rangeMessage);

/** Request kind -> params schema. A portal advertises the kinds it serves in its `hello`. */
export const QUERY_PARAMS = {
  prom: promParams,
  'logs.search': logsSearchParams,
  'traces.search': tracesSearchParams,
  'traces.get': traceGetParams,
  'traces.span': spanGetParams,
  'events.list': eventsListParams,
  'services.list': servicesParams,
  'services.resources': serviceResourcesParams,
  'services.map': servicesParams,
  ...MONITOR_QUERY_PARAMS,
} as const;

export type QueryKind = keyof typeof QUERY_PARAMS;
export const QUERY_KINDS = Object.keys(QUERY_PARAMS) as QueryKind[];
export type QueryParams<K extends QueryKind> = z.infer<(typeof QUERY_PARAMS)[K]>;

export function isQueryKind(kind: string): kind is QueryKind {
  return Object.hasOwn(QUERY_PARAMS, kind);
}

// ---- Answers (JSON bodies of the non-Prometheus kinds) ----

/** Rates per second, error ratio 0..1, latency in seconds; null where there was no traffic. */
export interface RedFigures {
  requestRate: number | null;
  errorRate: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface LogsSearchAnswer {
  rows: {
    timestamp: string;
    service: string;
    severity: string;
    body: string;
    traceId: string;
    spanId: string;
    attributes: Record<string, string>;
    resource: Record<string, string>;
  }[];
  histogram: { start: number; count: number }[];
  bucketMs: number;
  /** Matching rows in the whole range (the histogram's sum). */
  total: number;
}

export interface SpanSummary {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  timestamp: string;
  durationNs: string;
  service: string;
  name: string;
  kind: string;
  status: string;
}

export interface ServiceNode extends RedFigures {
  namespace: string;
  workload: string;
}

export interface ServiceEdge extends RedFigures {
  source: { namespace: string; workload: string };
  target: string;
  protocol: string;
}
