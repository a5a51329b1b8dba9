/**
 * Monitors, alerts, notification targets and silences of a cluster: `/api/orgs/{orgId}/clusters/{clusterId}/...`.
 * Definitions live in the cluster (incloud/monitors/README.md), so every route is a tunnel request to its portal:
 * reads need `clusters:read` (viewer, token scope read), changes `clusters:write` (editor, token scope write).
 * Bodies are checked with the shared schemas (lib/tunnel/monitors.ts) before anything enters the tunnel; answers
 * stream back unchanged. Notification target URLs and headers are secrets: they pass through to the cluster and
 * are never stored here, logged in the audit log or answered back. Changes are audited once the portal accepted
 * them. 503 cluster_not_connected when the cluster's portal is not connected.
 */
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { QueryKind } from '../../../lib/tunnel/index.ts';
import {
  MONITOR_QUERY_PARAMS,
  monitorInput,
  silenceInput,
  targetInput,
} from '../../../lib/tunnel/monitors.ts';
import type { App } from '../app.ts';
import { audit } from '../audit.ts';
import { type AppEnv, actorOf } from '../env.ts';
import { limitTestSend, TEST_SEND_LIMITS } from '../monitors/testSendLimit.ts';
import type { Permission } from '../permissions.ts';
import { defineRoute } from '../routeRegistry.ts';
import { body, errorResponses, Id, OrgParams } from '../schemas.ts';
import { assertClusterOfOrg, paramsFromQueryString, queryCluster } from '../tunnel/clusterQuery.ts';

const base = '/api/orgs/{orgId}/clusters/{clusterId}';
const ClusterParams = OrgParams.extend({ clusterId: Id });
/** Bodies: the shared schemas (documented in the OpenAPI document; checked again behind the tunnel kind). */
const fromTemplateBody = MONITOR_QUERY_PARAMS['monitors.fromTemplate'].omit({ template: true });

const answer = (description: string) => ({
  200: { description, content: { 'application/json': { schema: z.any() } } },
  ...errorResponses,
  503: { description: "the cluster's portal is not connected or went away mid-query" },
  504: { description: 'no complete answer in time' },
});

type Params = Record<string, string>;
interface MonitorRoute {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  kind: QueryKind;
  summary: string;
  pathParams?: string[];
  body?: z.ZodType;
  /** Who may call it; by default GET reads (`clusters:read`) and every other method changes (`clusters:write`). */
  permission?: Permission;
  /** The tunnel params from the path parameters, the JSON body and the caller. */
  params: (p: Params, body: Record<string, unknown>, c: Context<AppEnv>) => Record<string, unknown>;
  /** Runs before the query enters the tunnel (the cluster is known to be the organization's): may throw. */
  before?: (c: Context<AppEnv>, ids: Params) => Promise<void>;
  /** Audit action for a change; its target id comes from the path or the answer. */
  audit?: { action: string; targetType: string; answerKey?: string };
}

const ROUTES: MonitorRoute[] = [
  {
    method: 'get',
    path: 'monitors',
    kind: 'monitors.list',
    summary: 'Monitors with their alert counts',
    params: () => ({}),
  },
  {
    method: 'post',
    path: 'monitors',
    kind: 'monitors.put',
    summary: 'Create a monitor (PromQL or SQL condition); the cluster picks it up within seconds',
    body: monitorInput,
    params: (_p, b) => ({ monitor: b }),
    audit: { action: 'monitor.create', targetType: 'monitor', answerKey: 'monitor' },
  },
  {
    // Before `monitors/{monitorId}`; a read (the condition runs read-only and bounded, stores nothing), so
    // viewers may too: it shows no more than the logs, traces and events they can search anyway.
    method: 'post',
    path: 'monitors/dry-run',
    kind: 'monitors.dryRun',
    summary:
      'Run a SQL condition once, now, as the evaluator would, storing nothing: ' +
      '{result: {at, windowSeconds, groups: [{group, value, holds}], holds, truncated, durationMs}}',
    permission: 'clusters:read',
    body: MONITOR_QUERY_PARAMS['monitors.dryRun'],
    params: (_p, b) => b,
  },
  {
    method: 'get',
    path: 'monitors/{monitorId}',
    kind: 'monitors.get',
    summary: 'One monitor with its current alerts',
    pathParams: ['monitorId'],
    params: (p) => ({ id: p.monitorId }),
  },
  {
    method: 'put',
    path: 'monitors/{monitorId}',
    kind: 'monitors.put',
    summary: 'Replace a monitor (or create it with this id)',
    pathParams: ['monitorId'],
    body: monitorInput,
    params: (p, b) => ({ monitor: { ...b, id: p.monitorId } }),
    audit: { action: 'monitor.update', targetType: 'monitor' },
  },
  {
    method: 'delete',
    path: 'monitors/{monitorId}',
    kind: 'monitors.delete',
    summary: 'Delete a monitor; its alerts resolve',
    pathParams: ['monitorId'],
    params: (p) => ({ id: p.monitorId }),
    audit: { action: 'monitor.delete', targetType: 'monitor' },
  },
  {
    method: 'get',
    path: 'monitor-templates',
    kind: 'monitors.templates',
    summary: 'Ready-made monitors and their parameters',
    params: () => ({}),
  },
  {
    method: 'post',
    path: 'monitor-templates/{templateId}',
    kind: 'monitors.fromTemplate',
    summary: 'Turn on a ready-made monitor: body {params, targets}',
    pathParams: ['templateId'],
    body: fromTemplateBody,
    params: (p, b) => ({ ...b, template: p.templateId }),
    audit: { action: 'monitor.create', targetType: 'monitor', answerKey: 'monitor' },
  },
  {
    method: 'get',
    path: 'alerts',
    kind: 'alerts.list',
    summary: 'Alerts pending or firing now',
    params: () => ({}),
  },
  {
    method: 'get',
    path: 'alerts/history',
    kind: 'alerts.history',
    summary: 'Alert transitions, newest first (start, end in epoch ms; monitorId, limit)',
    params: (_p, _b, c) => paramsFromQueryString(c.req.url),
  },
  {
    method: 'get',
    path: 'notification-targets',
    kind: 'targets.list',
    summary: 'Notification targets (URLs and header values are never shown)',
    params: () => ({}),
  },
  {
    method: 'post',
    path: 'notification-targets',
    kind: 'targets.put',
    summary: 'Add a webhook or Slack target; the URL and headers are kept in the cluster, write-only',
    body: targetInput,
    params: (_p, b) => ({ target: b }),
    audit: { action: 'notification_target.create', targetType: 'notification_target', answerKey: 'target' },
  },
  {
    method: 'put',
    path: 'notification-targets/{targetId}',
    kind: 'targets.put',
    summary: 'Replace a target (send the URL again: it is never shown)',
    pathParams: ['targetId'],
    body: targetInput,
    params: (p, b) => ({ target: { ...b, id: p.targetId } }),
    audit: { action: 'notification_target.update', targetType: 'notification_target' },
  },
  {
    method: 'delete',
    path: 'notification-targets/{targetId}',
    kind: 'targets.delete',
    summary: 'Delete a target no monitor uses',
    pathParams: ['targetId'],
    params: (p) => ({ id: p.targetId }),
    audit: { action: 'notification_target.delete', targetType: 'notification_target' },
  },
  {
    method: 'post',
    path: 'notification-targets/{targetId}/test',
    kind: 'targets.test',
    summary:
      'Send one test notification (marked as a test) and answer what the receiver said: ' +
      '{result: {delivered, status, error, notificationId, durationMs}}; one attempt, no retries; ' +
      `at most ${TEST_SEND_LIMITS.perTarget} per target and ${TEST_SEND_LIMITS.perCluster} per cluster a minute ` +
      '(429 with Retry-After beyond)',
    pathParams: ['targetId'],
    before: (c, p) => limitTestSend(c, { orgId: p.orgId!, clusterId: p.clusterId!, targetId: p.targetId! }),
    params: (p, _b, c) => ({ id: p.targetId, requestedBy: actorOf(c.var.principal) }),
    audit: { action: 'notification_target.test', targetType: 'notification_target' },
  },
  { method: 'get', path: 'silences', kind: 'silences.list', summary: 'Silences', params: () => ({}) },
  {
    method: 'post',
    path: 'silences',
    kind: 'silences.put',
    summary: 'Silence notifications of alerts whose labels match, between startsAt and endsAt',
    body: silenceInput,
    params: (_p, b, c) => ({ silence: { ...b, createdBy: actorOf(c.var.principal) } }),
    audit: { action: 'silence.create', targetType: 'silence', answerKey: 'silence' },
  },
  {
    method: 'delete',
    path: 'silences/{silenceId}',
    kind: 'silences.delete',
    summary: 'End a silence',
    pathParams: ['silenceId'],
    params: (p) => ({ id: p.silenceId }),
    audit: { action: 'silence.delete', targetType: 'silence' },
  },
];

type Handler = (c: Context<AppEnv>) => Promise<Response>;
// The routes stream the portal's answer, which the typed-response helpers cannot describe.
const openapi = (app: App, route: ReturnType<typeof defineRoute>, handler: Handler) =>
  (app.openapi as (r: unknown, h: Handler) => void)(route, handler);

export function registerMonitorRoutes(app: App) {
  for (const r of ROUTES) {
    const params = ClusterParams.extend(Object.fromEntries((r.pathParams ?? []).map((n) => [n, Id])));
    const permission: Permission = r.permission ?? (r.method === 'get' ? 'clusters:read' : 'clusters:write');
    const route = defineRoute({
      method: r.method,
      path: `${base}/${r.path}`,
      permission,
      summary: `${r.summary} (schemas: lib/tunnel/monitors.ts)`,
      request: { params, ...(r.body ? body(r.body) : {}) },
      responses: answer('the answer'),
    });
    openapi(app, route, async (c) => {
      const { orgId, clusterId, ...pathArgs } = c.req.param() as Params;
      const json = r.body ? ((await c.req.json()) as Record<string, unknown>) : {};
      if (r.before) {
        await assertClusterOfOrg(c, orgId!, clusterId!);
        await r.before(c, { orgId: orgId!, clusterId: clusterId!, ...pathArgs });
      }
      const res = await queryCluster(c, orgId!, clusterId!, r.kind, r.params(pathArgs, json, c));
      if (!r.audit || res.status !== 200) return res;
      // Changes answer small JSON: read it to name the created object in the audit log, then pass it on.
      const text = await res.text();
      let targetId = pathArgs[r.pathParams?.[0] ?? ''];
      if (r.audit.answerKey) {
        const created = (JSON.parse(text) as Record<string, { id?: string; name?: string }>)[
          r.audit.answerKey
        ];
        targetId = created?.id;
      }
      await audit(c, {
        orgId,
        action: r.audit.action,
        targetType: r.audit.targetType,
        targetId,
        details: { clusterId },
      });
      return new Response(text, { status: res.status, headers: res.headers });
    });
  }
}
