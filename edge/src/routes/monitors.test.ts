import { env } from 'cloudflare:workers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CallOptions, callJson } from '../../test/client.ts';
import { createOrgWorld, type OrgWorld } from '../../test/fixtures.ts';
import { TestPortal } from '../../test/tunnelPortal.ts';

/**
 * The monitor routes through the real worker, Durable Object and a portal played by the test: who may read and
 * change, what reaches the cluster (validated params, the path id, the caller as silence author), that nothing
 * reaches it when the caller may not, and that target secrets are not kept in the audit log.
 */
let w: OrgWorld;
let portal: TestPortal;
const base = () => `/api/orgs/${w.orgId}/clusters/${w.clusterId}`;

beforeAll(async () => {
  w = await createOrgWorld();
  portal = await TestPortal.connect(w.installToken);
}, 60_000);
afterAll(() => portal?.close());

/** Calls the edge; the test portal answers the one request it gets with `answer`. */
function viaPortal(method: string, path: string, opts: CallOptions, answer: unknown = { ok: true }) {
  return portal.callThrough(method, base() + path, opts, answer);
}

const monitor = {
  name: 'Checkout errors',
  condition: { type: 'promql', query: 'sum(rate(errors_total[5m]))', op: '>', threshold: 1 },
};

describe('monitor routes', () => {
  it('lets viewers and read tokens read, through the tunnel', async () => {
    for (const who of [{ as: w.members.viewer }, { token: w.serviceTokens.read.token }]) {
      const res = await viaPortal('GET', '/monitors', who, { monitors: [] });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ monitors: [] });
      expect(res.request.kind).toBe('monitors.list');
    }
    const history = await viaPortal('GET', '/alerts/history?start=1000&end=2000&limit=5', {
      as: w.members.viewer,
    });
    expect(history.request.params).toEqual({ start: 1000, end: 2000, limit: 5 });
  });

  it('refuses changes below editor before anything reaches the cluster', async () => {
    const before = portal.requests.length;
    const denied: CallOptions[] = [{ as: w.members.viewer }, { token: w.serviceTokens.read.token }];
    for (const who of denied) {
      for (const [method, path] of [
        ['POST', '/monitors'],
        ['PUT', '/monitors/mon_1'],
        ['DELETE', '/monitors/mon_1'],
        ['POST', '/notification-targets'],
        ['DELETE', '/silences/sil_1'],
        ['POST', '/monitor-templates/pod-restarts'],
      ] as const) {
        const body = method === 'DELETE' ? undefined : monitor;
        const res = await callJson(method, base() + path, { ...who, body });
        expect(res.status, `${method} ${path}`).toBe(403);
      }
    }
    expect((await callJson('GET', `${base()}/monitors`)).status).toBe(401);
    expect(portal.requests.length).toBe(before);
  });

  it('lets editors and write tokens change monitors; the path id wins', async () => {
    const created = await viaPortal(
      'POST',
      '/monitors',
      { as: w.members.editor, body: monitor },
      {
        monitor: { ...monitor, id: 'mon_new' },
      },
    );
    expect(created.status).toBe(200);
    expect(created.request.kind).toBe('monitors.put');
    // Defaults were applied by the shared schema before the tunnel.
    expect(created.request.params).toMatchObject({
      monitor: { ...monitor, enabled: true, severity: 'warning', forSeconds: 0 },
    });

    const put = await viaPortal(
      'PUT',
      '/monitors/mon_new',
      { token: w.serviceTokens.write.token, body: { ...monitor, id: 'mon_other' } },
      { monitor: { id: 'mon_new' } },
    );
    expect(put.status).toBe(200);
    expect((put.request.params as { monitor: { id: string } }).monitor.id).toBe('mon_new');

    const audit = await env.DB.prepare(
      "SELECT action, target_id FROM audit_log WHERE org_id = ? AND action LIKE 'monitor.%' ORDER BY created_at",
    )
      .bind(w.orgId)
      .all();
    expect(audit.results).toEqual([
      { action: 'monitor.create', target_id: 'mon_new' },
      { action: 'monitor.update', target_id: 'mon_new' },
    ]);
  });

  it('answers 400 for an invalid monitor without using the tunnel', async () => {
    const before = portal.requests.length;
    const bad = { ...monitor, condition: { ...monitor.condition, op: 'LIKE' } };
    const res = await callJson('POST', `${base()}/monitors`, { as: w.members.editor, body: bad });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'invalid_request' } });
    const hostileLabel = { ...monitor, labels: { team: '{{ query "up" }}' } };
    expect(
      (await callJson('POST', `${base()}/monitors`, { as: w.members.editor, body: hostileLabel })).status,
    ).toBe(400);
    expect(portal.requests.length).toBe(before);
  });

  it('passes target secrets to the cluster without keeping them; silences name their author', async () => {
    const secret = 'https://hooks.example.org/services/SECRET-PATH';
    const res = await viaPortal(
      'POST',
      '/notification-targets',
      {
        as: w.members.editor,
        body: { name: 'ops', type: 'slack', url: secret, headers: { 'X-Key': 'k-secret' } },
      },
      {
        target: {
          id: 'tgt_1',
          name: 'ops',
          type: 'slack',
          host: 'hooks.example.org',
          headerNames: ['X-Key'],
        },
      },
    );
    expect(res.status).toBe(200);
    expect(res.request.params).toMatchObject({ target: { url: secret, headers: { 'X-Key': 'k-secret' } } });
    const rows = JSON.stringify(
      (await env.DB.prepare('SELECT * FROM audit_log WHERE org_id = ?').bind(w.orgId).all()).results,
    );
    expect(rows).toContain('notification_target.create');
    expect(rows).not.toContain('SECRET-PATH');
    expect(rows).not.toContain('k-secret');

    const silence = await viaPortal(
      'POST',
      '/silences',
      {
        as: w.members.editor,
        body: { matchers: { severity: 'info' }, startsAt: 1, endsAt: 2, createdBy: 'someone else' },
      },
      { silence: { id: 'sil_1' } },
    );
    expect((silence.request.params as { silence: { createdBy: string } }).silence.createdBy).toBe(
      `user:${w.members.editor.userId}`,
    );
  });

  it('sends a test notification for editors only, as the caller, and audits it', async () => {
    const before = portal.requests.length;
    for (const who of [{ as: w.members.viewer }, { token: w.serviceTokens.read.token }]) {
      const denied = await callJson('POST', `${base()}/notification-targets/tgt_1/test`, who);
      expect(denied.status).toBe(403);
    }
    expect(portal.requests.length).toBe(before);
    const result = { delivered: false, status: 503, error: 'HTTP 503', notificationId: 'n1', durationMs: 3 };
    const res = await viaPortal(
      'POST',
      '/notification-targets/tgt_1/test',
      { token: w.serviceTokens.write.token },
      { result },
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ result });
    expect(res.request.kind).toBe('targets.test');
    expect(res.request.params).toEqual({ id: 'tgt_1', requestedBy: `token:${w.serviceTokens.write.id}` });
    const audit = await env.DB.prepare(
      "SELECT target_id FROM audit_log WHERE org_id = ? AND action = 'notification_target.test'",
    )
      .bind(w.orgId)
      .all();
    expect(audit.results).toEqual([{ target_id: 'tgt_1' }]);
  });

  it('runs a SQL condition dry run for readers too, validated before the tunnel', async () => {
    const condition = {
      type: 'sql',
      source: 'logs',
      filter: 'severity:error',
      windowSeconds: 300,
      op: '>',
      threshold: 3,
    };
    const result = { at: 1, windowSeconds: 300, groups: [{ group: '', value: 5, holds: true }], holds: true };
    const res = await viaPortal(
      'POST',
      '/monitors/dry-run',
      { token: w.serviceTokens.read.token, body: { condition } },
      { result },
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ result });
    expect(res.request.kind).toBe('monitors.dryRun');
    expect(res.request.params).toEqual({
      condition: { ...condition, aggregate: 'count' },
      intervalSeconds: 60,
    });
    const before = portal.requests.length;
    const bad = await callJson('POST', `${base()}/monitors/dry-run`, {
      as: w.members.viewer,
      body: { condition: { ...condition, source: 'metrics' } },
    });
    expect(bad.status).toBe(400);
    expect(portal.requests.length).toBe(before);
  });

  it('documents the monitor bodies with the shared schemas in the OpenAPI document', async () => {
    const doc = await callJson<{ paths: Record<string, Record<string, { requestBody?: unknown }>> }>(
      'GET',
      '/api/openapi.json',
    );
    expect(doc.status).toBe(200);
    const body = JSON.stringify(
      doc.body.paths['/api/orgs/{orgId}/clusters/{clusterId}/monitors']?.post?.requestBody ?? {},
    );
    for (const field of ['condition', 'forSeconds', 'promql', 'windowSeconds', 'targets'])
      expect(body).toContain(field);
  });
});
