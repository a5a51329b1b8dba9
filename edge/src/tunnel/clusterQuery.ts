/**
 * The worker's side of a query: checks the cluster belongs to the organization of the route (404 otherwise, so
 * cluster ids of other organizations stay unknown), validates the params with the shared schema (400 at once,
 * nothing enters the tunnel), then hands the query to the cluster's Durable Object and streams its answer back.
 */
import { and, eq } from 'drizzle-orm';
import type { Context } from 'hono';
import { formatIssues, QUERY_PARAMS, type QueryKind } from '../../../lib/tunnel/index.ts';
import { schema } from '../db.ts';
import type { AppEnv } from '../env.ts';
import { ApiError, notFound } from '../errors.ts';
import { TUNNEL_LIMITS } from './limits.ts';
import type { TunnelQuery } from './protocol.ts';

export async function queryCluster(
  c: Context<AppEnv>,
  orgId: string,
  clusterId: string,
  kind: QueryKind,
  rawParams: unknown,
): Promise<Response> {
  const cluster = await c.var.db.query.clusters.findFirst({
    columns: { id: true },
    where: and(eq(schema.clusters.id, clusterId), eq(schema.clusters.orgId, orgId)),
  });
  if (!cluster) throw notFound('cluster');
  const parsed = QUERY_PARAMS[kind].safeParse(rawParams);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({
      path: i.path.map(String).join('.'),
      message: i.message,
    }));
    throw new ApiError(
      400,
      'invalid_request',
      `cannot run ${kind} query: ${formatIssues(parsed.error)}`,
      {},
      issues,
    );
  }
  const query: TunnelQuery = { kind, params: parsed.data, timeoutMs: TUNNEL_LIMITS.queryTimeoutMs };
  const stub = c.env.CLUSTER_TUNNEL.get(c.env.CLUSTER_TUNNEL.idFromName(clusterId));
  return stub.fetch('https://cluster-tunnel/query', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(query),
  });
}

const NUMERIC = new Set(['start', 'end', 'limit', 'buckets', 'minDurationMs', 'maxDurationMs']);

/** Query-string arguments as params: numeric fields become numbers (a bad one stays text and fails validation). */
export function paramsFromQueryString(
  url: string,
  extra: Record<string, string> = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of new URL(url).searchParams) {
    out[key] = NUMERIC.has(key) && /^\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  }
  return { ...out, ...extra };
}
