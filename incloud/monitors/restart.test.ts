import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dt64ms } from './alertHistory.ts';
import { MonitorEvaluator } from './evaluator.ts';
import type { WebhookPayload } from './payloads.ts';
import { FAST, monitor, openStore, target, until } from './testing/stack.ts';
import { WebhookReceiver } from './testing/webhookReceiver.ts';

/**
 * A restarted evaluator resumes alert state from alert_history: a firing alert is neither notified again nor
 * forgotten (it still resolves, once); an alert of a monitor deleted while it was down ends in history.
 */
let db: Awaited<ReturnType<typeof openStore>>;
const hook = new WebhookReceiver();
let current: MonitorEvaluator | undefined;

beforeAll(async () => {
  db = await openStore();
});
afterAll(async () => {
  await current?.shutdown();
  await hook.close();
  await db?.close();
});

async function evaluator() {
  current = new MonitorEvaluator({ store: db.store, ...FAST });
  await current.start();
  return current;
}

const errors = (n: number, service: string) =>
  Array.from({ length: n }, (_, i) => ({
    Timestamp: dt64ms(Date.now()),
    ServiceName: service,
    SeverityText: 'ERROR',
    Body: `failure ${i}`,
  }));

describe('evaluator restart', () => {
  it('neither repeats nor loses a firing alert, and ends alerts of monitors deleted meanwhile', async () => {
    const url = await hook.start();
    const first = await evaluator();
    await first.config.put('target', target('hook', { name: 'hook', type: 'webhook', url }));
    const sql = (service: string) => ({
      type: 'sql',
      source: 'logs',
      filter: `service:${service} severity:error`,
      windowSeconds: 5,
      op: '>=',
      threshold: 3,
    });
    await first.config.put(
      'monitor',
      monitor('kept', { name: 'kept', condition: sql('a'), intervalSeconds: 1, targets: ['hook'] }),
    );
    await first.config.put(
      'monitor',
      monitor('dropped', { name: 'dropped', condition: sql('b'), intervalSeconds: 1 }),
    );
    await first.sync();
    await db.store.insert('otel_logs', [...errors(3, 'a'), ...errors(3, 'b')]);
    await until('firing', () => hook.accepted.length >= 1, 15_000);
    await until(
      'both firing',
      () => first.tracker.list().filter((a) => a.state === 'firing').length === 2,
      15_000,
    );
    await first.shutdown();

    await first.config.delete('monitor', 'dropped');
    const second = await evaluator();
    expect(second.tracker.list().map((a) => a.monitorId)).toEqual(['kept']); // restored; 'dropped' ended at sync
    await until('resolved after the window', () => hook.accepted.length >= 2, 20_000);
    await second.flushHistory();

    const bodies = hook.accepted.map((n) => n.body as WebhookPayload);
    expect(bodies.map((b) => `${b.monitor.id}:${b.status}`)).toEqual(['kept:firing', 'kept:resolved']);
    const rows = await db.store.query<{ MonitorId: string; State: string; Notified: string }>(
      'SELECT MonitorId, State, Notified FROM alert_history ORDER BY MonitorId, Timestamp',
    );
    expect(rows.map((r) => `${r.MonitorId}:${r.State}:${r.Notified}`)).toEqual([
      'dropped:firing:none',
      'dropped:resolved:none',
      'kept:firing:sent',
      'kept:resolved:sent',
    ]);
  });
});
