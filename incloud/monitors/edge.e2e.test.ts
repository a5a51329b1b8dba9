import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Portal } from '../portal/portal.ts';
import { type EdgeStack, startEdgeStack, waitConnected } from '../portal/testing/edgeStack.ts';
import { VictoriaMetricsProcess } from '../testing/victoriaMetrics.ts';
import type { WebhookPayload } from './payloads.ts';
import { openStore, startWithVmalert, TEST_KEYS, until } from './testing/stack.ts';
import { WebhookReceiver } from './testing/webhookReceiver.ts';

/**
 * The whole path with real parts: the edge (`wrangler dev`: worker, D1, Durable Object), the portal dialling out
 * to it, chdb, VictoriaMetrics, vmalert and the evaluator. A monitor and its target are created through the edge
 * API with a write token, the metric is driven over the threshold, the notification arrives, and a read token
 * sees the firing alert and its history through the tunnel, but cannot change anything.
 */
let stack: EdgeStack;
let vm: VictoriaMetricsProcess;
let db: Awaited<ReturnType<typeof openStore>>;
let monitors: Awaited<ReturnType<typeof startWithVmalert>>;
let portal: Portal;
let writeToken: string;
const hook = new WebhookReceiver();

beforeAll(async () => {
  vm = new VictoriaMetricsProcess();
  [stack] = await Promise.all([startEdgeStack(), vm.start()]);
  db = await openStore();
  monitors = await startWithVmalert(db.store, db.dir, vm.url);
  portal = new Portal({
    edgeUrl: stack.url,
    installToken: stack.installToken,
    victoriaMetricsUrl: vm.url,
    clickhouse: db.store,
    replicaId: 'monitors-e2e',
    targetSecrets: TEST_KEYS,
  });
  await portal.start();
  await waitConnected(stack);
  // The stack's owner signs in to mint a write-scoped token (an editor's powers).
  const login = await fetch(`${stack.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'stack@example.com', password: 'a long enough password' }),
  });
  expect(login.status).toBe(200);
  const cookie = /^[^;]+/.exec(login.headers.get('set-cookie') ?? '')?.[0] ?? '';
  const { csrfToken } = (await login.json()) as { csrfToken: string };
  const token = await fetch(`${stack.url}/api/orgs/${stack.orgId}/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken },
    body: JSON.stringify({ name: 'write', scopes: ['write'] }),
  });
  expect(token.status).toBe(201);
  writeToken = ((await token.json()) as { token: string }).token;
}, 180_000);

afterAll(async () => {
  await portal?.shutdown();
  await monitors?.stop();
  await hook.close();
  await stack?.stop();
  await vm?.close();
  await db?.close();
}, 60_000);

async function api<T>(method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(`${stack.url}/api/orgs/${stack.orgId}/clusters/${stack.clusterId}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

describe('monitors through the edge', () => {
  it('creates a monitor through the API, fires, and shows the alert to viewers', async () => {
    const url = await hook.start();
    const target = await api<{ target: { id: string; host: string } }>(
      'POST',
      '/notification-targets',
      writeToken,
      {
        name: 'ops',
        type: 'webhook',
        url,
        headers: { Authorization: 'Bearer hook-secret' },
      },
    );
    expect(target.status).toBe(200);
    expect(JSON.stringify(target.body)).not.toContain('hook-secret');

    const monitor = {
      name: 'Inflight requests',
      condition: { type: 'promql', query: 'max(monitor_e2e_inflight)', op: '>', threshold: 50 },
      intervalSeconds: 1,
      targets: [target.body.target.id],
    };
    expect((await api('POST', '/monitors', stack.readToken, monitor)).status).toBe(403);
    const created = await api<{ monitor: { id: string } }>('POST', '/monitors', writeToken, monitor);
    expect(created.status).toBe(200);
    const id = created.body.monitor.id;
    const listed = await api<{ monitors: { id: string }[] }>('GET', '/monitors', stack.readToken);
    expect(listed.body.monitors.map((m) => m.id)).toEqual([id]);

    await until(
      'the firing notification',
      () => hook.accepted.length >= 1,
      60_000,
      async () => {
        await fetch(`${vm.url}/api/v1/import/prometheus`, {
          method: 'POST',
          body: 'monitor_e2e_inflight 80\n',
        });
        await vm.flush();
      },
    );
    const note = hook.accepted[0]!;
    expect(note.headers.authorization).toBe('Bearer hook-secret');
    expect((note.body as WebhookPayload).monitor.id).toBe(id);

    await monitors.evaluator.flushHistory();
    const alerts = await api<{ alerts: { monitorId: string; state: string; value: number }[] }>(
      'GET',
      '/alerts',
      stack.readToken,
    );
    expect(alerts.body.alerts).toMatchObject([{ monitorId: id, state: 'firing', value: 80 }]);
    const now = Date.now();
    const history = await api<{ history: { state: string }[] }>(
      'GET',
      `/alerts/history?start=${now - 600_000}&end=${now + 1000}&monitorId=${id}`,
      stack.readToken,
    );
    expect(history.body.history.map((h) => h.state)).toEqual(['firing']);
  }, 120_000);
});
