/**
 * A cluster's data, read through its portal (tunnel): `/api/orgs/{orgId}/clusters/{clusterId}/...`.
 * - `prometheus/api/v1/...`: a Prometheus-compatible base URL (query, query_range, series, labels, label values,
 *   metadata; GET or POST form) for Grafana (bearer API token) and promtool (basic auth, token as password);
 * - `logs`, `traces`, `traces/{traceId}`, `traces/{traceId}/spans/{spanId}`, `events`, `services`,
 *   `services/{namespace}/{workload}/resources`, `service-map`: the portal's JSON queries, arguments in the
 *   query string (times in epoch milliseconds), validated with lib/tunnel/queries.ts.
 * A Prometheus `timeout` argument shortens the deadline (never past 30 s); tunnel errors on the Prometheus URL
 * come in Prometheus' error shape. Everything needs `clusters:read` (viewer; token scope read). Answers stream through unchanged; tunnel failures
 * are JSON errors: 503 cluster_not_connected, 504 timeout, and the portal's own codes.
 */
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { QueryKind } from '../../../lib/tunnel/index.ts';
import type { App } from '../app.ts';
import type { AppEnv } from '../env.ts';
import { defineRoute } from '../routeRegistry.ts';
import { errorResponses, Id, OrgParams } from '../schemas.ts';
import {
  asPrometheusError,
  paramsFromQueryString,
  promTimeoutMs,
  queryCluster,
} from '../tunnel/clusterQuery.ts';

const base = '/api/orgs/{orgId}/clusters/{clusterId}';
const ClusterParams = OrgParams.extend({ clusterId: Id });
const Name = z.string().min(1).max(256);

const answer = (description: string) => ({
  200: { description, content: { 'application/json': { schema: z.any() } } },
  ...errorResponses,
  503: { description: "the cluster's portal is not connected or went away mid-query" },
  504: { description: 'no complete answer in time' },
});

const PROM_ENDPOINTS = ['query', 'query_range', 'series', 'labels', 'metadata'] as const;

type Handler = (c: Context<AppEnv>) => Promise<Response>;
// The routes stream the portal's answer, which the typed-response helpers cannot describe.
const openapi = (app: App, route: ReturnType<typeof defineRoute>, handler: Handler) =>
  (app.openapi as (r: unknown, h: Handler) => void)(route, handler);

async function promArgs(c: Context<AppEnv>): Promise<[string, string][]> {
  const args: [string, string][] = [...new URL(c.req.url).searchParams];
  if (c.req.method === 'POST') {
    // Read as text: Prometheus clients POST application/x-www-form-urlencoded, repeated keys (match[]) kept.
    args.push(...new URLSearchParams(await c.req.text()));
  }
  return args;
}

function registerPrometheus(app: App) {
  const paths = [
    ...PROM_ENDPOINTS.map((e) => ({ path: `${base}/prometheus/api/v1/${e}`, params: ClusterParams })),
    {
      path: `${base}/prometheus/api/v1/label/{labelName}/values`,
      params: ClusterParams.extend({ labelName: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/) }),
    },
  ];
  for (const { path, params } of paths) {
    for (const method of ['get', 'post'] as const) {
      const route = defineRoute({
        method,
        path,
        permission: 'clusters:read',
        summary: 'Prometheus HTTP API of the cluster (read-only passthrough to its VictoriaMetrics)',
        request: { params },
        responses: answer('the Prometheus API answer, unchanged'),
      });
      openapi(app, route, async (c) => {
        const { orgId, clusterId } = c.req.param() as { orgId: string; clusterId: string };
        const promPath = new URL(c.req.url).pathname.slice(
          new URL(c.req.url).pathname.indexOf('/prometheus/') + '/prometheus'.length,
        );
        const args = await promArgs(c);
        const params = { path: promPath, method: c.req.method, args };
        return asPrometheusError(
          await queryCluster(c, orgId, clusterId, 'prom', params, promTimeoutMs(args)),
        );
      });
    }
  }
}

const JSON_QUERIES: { path: string; kind: QueryKind; summary: string; params: z.ZodObject }[] = [
  {
    path: 'logs',
    kind: 'logs.search',
    summary: 'Search logs (query language, time range, histogram)',
    params: ClusterParams,
  },
  { path: 'traces', kind: 'traces.search', summary: 'Search traces', params: ClusterParams },
  {
    path: 'traces/{traceId}',
    kind: 'traces.get',
    summary: 'One trace with all its spans',
    params: ClusterParams.extend({ traceId: Name }),
  },
  {
    path: 'traces/{traceId}/spans/{spanId}',
    kind: 'traces.span',
    summary: 'One span with attributes, headers, bodies, events',
    params: ClusterParams.extend({ traceId: Name, spanId: Name }),
  },
  { path: 'events', kind: 'events.list', summary: 'Kubernetes events', params: ClusterParams },
  { path: 'services', kind: 'services.list', summary: 'Services with RED figures', params: ClusterParams },
  {
    path: 'services/{namespace}/{workload}/resources',
    kind: 'services.resources',
    summary: "A service's resources (routes, methods) with RED figures",
    params: ClusterParams.extend({ namespace: Name, workload: Name }),
  },
  {
    path: 'service-map',
    kind: 'services.map',
    summary: 'The service map with RED figures',
    params: ClusterParams,
  },
];

function registerJsonQueries(app: App) {
  for (const q of JSON_QUERIES) {
    const route = defineRoute({
      method: 'get',
      path: `${base}/${q.path}`,
      permission: 'clusters:read',
      summary: `${q.summary} (arguments in the query string, see lib/tunnel/queries.ts)`,
      request: { params: q.params },
      responses: answer('the answer'),
    });
    openapi(app, route, async (c) => {
      const { orgId, clusterId, ...pathArgs } = c.req.param() as Record<string, string>;
      return queryCluster(c, orgId!, clusterId!, q.kind, paramsFromQueryString(c.req.url, pathArgs));
    });
  }
}

export function registerClusterDataRoutes(app: App) {
  registerPrometheus(app);
  registerJsonQueries(app);
}
