/**
 * The worker's side of a query: checks the cluster belongs to the organization of the route (404 otherwise, so
 * cluster ids of other organizations stay unknown), validates the params with the shared schema (400 at once,
 * nothing enters the tunnel), then hands the query to the cluster's Durable Object and streams its answer back.
 */
import { and, eq } from 'drizzle-orm';
import type { Context } from 'hono';
import { formatIssues, QUERY_PARAMS, type QueryKind } from '../../../lib/tunnel/index.ts';
import { authCache } from '../auth/authCache.ts';
import { schema } from '../db.ts';
import type { AppEnv } from '../env.ts';
import { ApiError, notFound } from '../errors.ts';
import { TUNNEL_LIMITS } from './limits.ts';
import type { TokenChange, TunnelQuery } from './protocol.ts';

export async function queryCluster(
  c: Context<AppEnv>,
  orgId: string,
  clusterId: string,
  kind: QueryKind,
  rawParams: unknown,
  timeoutMs: number = TUNNEL_LIMITS.queryTimeoutMs,
): Promise<Response> {
  await assertClusterOfOrg(c, orgId, clusterId);
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
  const query: TunnelQuery = {
    kind,
    params: parsed.data,
    timeoutMs: Math.min(timeoutMs, TUNNEL_LIMITS.queryTimeoutMs),
  };
  const stub = c.env.CLUSTER_TUNNEL.get(c.env.CLUSTER_TUNNEL.idFromName(clusterId));
  return stub.fetch('https://cluster-tunnel/query', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(query),
  });
}

/** 404 unless the cluster belongs to the organization (whose membership `authorize` has checked). */
export async function assertClusterOfOrg(c: Context<AppEnv>, orgId: string, clusterId: string) {
  // Clusters never change organization; a deletion through this isolate clears the cache (authCache.ts).
  const exists = await authCache.get(`cluster:${orgId}:${clusterId}`, async () => {
    const row = await c.var.db.query.clusters.findFirst({
      columns: { id: true },
      where: and(eq(schema.clusters.id, clusterId), eq(schema.clusters.orgId, orgId)),
    });
    return row !== undefined;
  });
  if (!exists) throw notFound('cluster');
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

/**
 * A Prometheus `timeout` argument (`500ms`, `10s`, `2m` or plain seconds) in milliseconds, at least 1;
 * undefined when absent or not understood (the default deadline applies).
 */
export function promTimeoutMs(args: readonly [string, string][]): number | undefined {
  const value = args.find(([k]) => k === 'timeout')?.[1];
  const m = value ? /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value) : null;
  if (!m) return undefined;
  const unit = m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000;
  return Math.max(1, Math.round(Number(m[1]) * unit));
}

/**
 * Errors made by the tunnel (`{ error: { code, message } }`: not connected, timeout, the portal's codes) in the
 * shape Prometheus clients read (`{ status: "error", errorType, error }`), so Grafana and promtool show the
 * reason. VictoriaMetrics' own error answers already have that shape and pass unchanged.
 */
export async function asPrometheusError(res: Response): Promise<Response> {
  if (res.status < 400 || !res.headers.get('content-type')?.includes('application/json')) return res;
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (typeof error?.code !== 'string' || typeof error.message !== 'string')
    return new Response(text, { status: res.status, headers: res.headers });
  return Response.json(
    { status: 'error', errorType: error.code, error: error.message },
    { status: res.status, headers: { 'cache-control': 'no-store' } },
  );
}

/**
 * Tells the cluster's Durable Object that its install token changed (the new hash) or the cluster is gone
 * (null), so portals still using the old token are closed at once (4401). A failure is logged, not thrown: the
 * change in D1 stands, and the old token is refused at the next connection anyway.
 */
export async function tellTunnelTokenChanged(env: Env, clusterId: string, installTokenHash: string | null) {
  const body: TokenChange = { installTokenHash };
  try {
    const stub = env.CLUSTER_TUNNEL.get(env.CLUSTER_TUNNEL.idFromName(clusterId));
    const res = await stub.fetch('https://cluster-tunnel/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    await res.arrayBuffer();
  } catch (err) {
    console.error(`cannot tell the tunnel of cluster ${clusterId} about its token: ${String(err)}`);
  }
}
