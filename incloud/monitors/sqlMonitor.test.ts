import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dt64ms } from './alertHistory.ts';
import { MonitorEvaluator } from './evaluator.ts';
import type { WebhookPayload } from './payloads.ts';
import { FAST, monitor, openStore, target, until } from './testing/stack.ts';
import { WebhookReceiver } from './testing/webhookReceiver.ts';

/**
 * SQL monitors end to end on chdb with the project's migrations: real otel_logs and k8s_events rows, the
 * evaluator's compiled bounded query, `for`, grouping, history and notifications to a local receiver.
 */
let db: Awaited<ReturnType<typeof openStore>>;
let evaluator: MonitorEvaluator;
const hook = new WebhookReceiver(1);

beforeAll(async () => {
  db = await openStore();
  evaluator = new MonitorEvaluator({ store: db.store, ...FAST });
  await evaluator.start();
});
afterAll(async () => {
  await evaluator?.shutdown();
  await hook.close();
  await db?.close();
});

function logRow(service: string, severity: string, body: string, pod: string) {
  return {
    Timestamp: dt64ms(Date.now()),
    ServiceName: service,
    SeverityText: severity,
    SeverityNumber: severity === 'ERROR' ? 17 : 9,
    Body: body,
    ResourceAttributes: { 'k8s.namespace.name': 'shop', 'k8s.pod.name': pod },
    LogAttributes: {},
  };
}

async function history(id: string) {
  await evaluator.flushHistory();
  return db.store.query<{
    State: string;
    Previous: string;
    Notified: string;
    Labels: Record<string, string>;
  }>(
    'SELECT State, Previous, Notified, Labels FROM alert_history WHERE MonitorId = {id:String} ORDER BY Timestamp',
    { id },
  );
}

describe('SQL monitor over logs', () => {
  it('fires for the group over the threshold and resolves when its errors age out of the window', async () => {
    const url = await hook.start();
    await evaluator.config.put('target', target('hook', { name: 'hook', type: 'webhook', url }));
    await evaluator.config.put(
      'monitor',
      monitor('error-burst', {
        name: 'Error log burst',
        condition: {
          type: 'sql',
          source: 'logs',
          filter: 'severity:error -"health check"',
          aggregate: 'count',
          windowSeconds: 4,
          groupBy: 'service',
          op: '>',
          threshold: 4,
        },
        intervalSeconds: 1,
        forSeconds: 1,
        message: '{{value}} errors from {{labels.service}}',
        targets: ['hook'],
      }),
    );
    await evaluator.sync();
    // checkout: 6 errors (over), cart: 3 errors (under), health checks and info lines do not count.
    await db.store.insert('otel_logs', [
      ...Array.from({ length: 6 }, (_, i) =>
        logRow('checkout', 'ERROR', `payment failed ${i}`, 'checkout-1'),
      ),
      ...Array.from({ length: 3 }, (_, i) => logRow('cart', 'ERROR', `cart failed ${i}`, 'cart-1')),
      ...Array.from({ length: 5 }, () => logRow('cart', 'ERROR', 'health check failed', 'cart-1')),
      ...Array.from({ length: 9 }, () => logRow('cart', 'INFO', 'all good', 'cart-1')),
    ]);

    await until('firing', () => hook.accepted.length >= 1, 20_000);
    await until('resolved after the window', () => hook.accepted.length >= 2, 20_000);
    await new Promise((r) => setTimeout(r, 2000)); // more evaluations: no more notifications

    const bodies = hook.accepted.map((n) => n.body as WebhookPayload);
    expect(bodies.map((b) => b.status)).toEqual(['firing', 'resolved']);
    expect(hook.attempts).toBe(3); // one refused, then one per transition
    expect(bodies[0]?.alerts[0]).toMatchObject({
      state: 'firing',
      value: 6,
      message: '6 errors from checkout',
      labels: { service: 'checkout', severity: 'warning', understory_monitor: 'error-burst' },
    });
    const rows = await history('error-burst');
    expect(rows.map((r) => `${r.Previous}->${r.State}:${r.Notified}:${r.Labels.service}`)).toEqual([
      'inactive->pending:none:checkout',
      'pending->firing:sent:checkout',
      'firing->resolved:sent:checkout',
    ]);
  });

  it('counts Kubernetes events (pod restarts) and respects a silence', async () => {
    const now = Date.now();
    await evaluator.config.put(
      'monitor',
      monitor('restarts', {
        name: 'Pod restarts',
        condition: {
          type: 'sql',
          source: 'events',
          filter: 'attr.reason:BackOff',
          windowSeconds: 60,
          groupBy: 'name',
          op: '>=',
          threshold: 1,
        },
        intervalSeconds: 1,
        targets: ['hook'],
      }),
    );
    await evaluator.config.put('silence', {
      id: 'sil-web',
      matchers: { understory_monitor: 'restarts', name: 'web-1' },
      startsAt: now - 1000,
      endsAt: now + 3_600_000,
      comment: 'known',
      createdBy: 'test',
    });
    const event = (uid: string, name: string, reason: string) => ({
      Uid: uid,
      Namespace: 'shop',
      Name: `${name}.1`,
      Type: 'Warning',
      Reason: reason,
      Message: 'Back-off restarting failed container',
      Count: 3,
      FirstTimestamp: dt64ms(now - 30_000),
      LastTimestamp: dt64ms(now),
      InvolvedObjectKind: 'Pod',
      InvolvedObjectNamespace: 'shop',
      InvolvedObjectName: name,
    });
    const before = hook.accepted.length;
    await db.store.insert('k8s_events', [
      event('u1', 'api-1', 'BackOff'),
      event('u2', 'web-1', 'BackOff'),
      event('u3', 'db-1', 'Pulled'),
    ]);
    await evaluator.sync();
    await until(
      'both restart alerts recorded',
      async () => (await history('restarts')).filter((r) => r.State === 'firing').length === 2,
      20_000,
    );
    await until('the notification', () => hook.accepted.length > before, 10_000);
    await new Promise((r) => setTimeout(r, 1000));
    const sent = hook.accepted.slice(before).map((n) => n.body as WebhookPayload);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.alerts.map((a) => a.labels.name)).toEqual(['api-1']);
    const rows = await history('restarts');
    expect(rows.map((r) => `${r.Labels.name}:${r.Notified}`).sort()).toEqual([
      'api-1:sent',
      'web-1:silenced',
    ]);
  });
});
