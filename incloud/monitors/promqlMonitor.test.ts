import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChdbStore } from '../clickhouse/chdbStore.ts';
import { ClickhouseReader } from '../portal/clickhouseReader.ts';
import { defaultLimits } from '../portal/limits.ts';
import { VictoriaMetricsProcess } from '../testing/victoriaMetrics.ts';
import { readCurrent } from './alertHistory.ts';
import type { WebhookPayload } from './payloads.ts';
import { monitor, openStore, startWithVmalert, target, until } from './testing/stack.ts';
import { WebhookReceiver } from './testing/webhookReceiver.ts';

/**
 * A PromQL monitor end to end with real parts: VictoriaMetrics holds the metric, vmalert (Debian) evaluates
 * the rules file the evaluator wrote and pushes alerts to the evaluator's receiver, the notifier posts to a
 * local receiver that refuses the first two attempts. The test drives the metric over the threshold and back.
 */
let vm: VictoriaMetricsProcess;
let db: Awaited<ReturnType<typeof openStore>>;
let stack: Awaited<ReturnType<typeof startWithVmalert>>;
const hook = new WebhookReceiver(2);

beforeAll(async () => {
  vm = new VictoriaMetricsProcess();
  await vm.start();
  db = await openStore();
  stack = await startWithVmalert(db.store, db.dir, vm.url);
});
afterAll(async () => {
  await stack?.stop();
  await hook.close();
  await vm?.close();
  await db?.close();
});

async function drive(value: number) {
  const res = await fetch(`${vm.url}/api/v1/import/prometheus`, {
    method: 'POST',
    body: `monitor_test_queue_depth{workload="checkout"} ${value}\n`,
  });
  expect(res.status).toBe(204);
  await vm.flush();
}

async function history(store: ChdbStore, id: string) {
  return store.query<{ State: string; Previous: string; Notified: string; Value: number }>(
    'SELECT State, Previous, Notified, Value FROM alert_history WHERE MonitorId = {id:String} ORDER BY Timestamp',
    { id },
  );
}

describe('PromQL monitor through vmalert', () => {
  it('fires over the threshold, resolves below it, notifies once per transition despite failures', async () => {
    const url = await hook.start();
    const { evaluator } = stack;
    await evaluator.config.put('target', target('hook', { name: 'test hook', type: 'webhook', url }));
    // A monitor VictoriaMetrics cannot parse (stored behind the portal's back) must not block the others.
    await evaluator.config.put(
      'monitor',
      monitor('broken', {
        name: 'Broken',
        condition: { type: 'promql', query: 'sum(', op: '>', threshold: 1 },
        intervalSeconds: 1,
      }),
    );
    await evaluator.config.put(
      'monitor',
      monitor('queue-depth', {
        name: 'Queue depth',
        severity: 'critical',
        condition: {
          type: 'promql',
          query: 'max by (workload) (monitor_test_queue_depth)',
          op: '>',
          threshold: 5,
        },
        intervalSeconds: 1,
        forSeconds: 2,
        labels: { team: 'payments' },
        message: '{{labels.workload}} queue at {{value}} (over {{threshold}})',
        targets: ['hook'],
      }),
    );

    const reader = new ClickhouseReader(db.store, defaultLimits().clickhouse);
    let sawFiring = false;
    await until(
      'the firing notification',
      () => hook.accepted.length >= 1,
      40_000,
      () => drive(10),
    );
    await evaluator.flushHistory();
    const current = await readCurrent(reader);
    sawFiring = current.some((a) => a.monitorId === 'queue-depth' && a.state === 'firing');
    expect(sawFiring).toBe(true);

    await until(
      'the resolved notification',
      () => hook.accepted.length >= 2,
      40_000,
      () => drive(1),
    );
    // vmalert keeps re-sending both states; give it time to (wrongly) cause more notifications.
    for (let i = 0; i < 8; i++) {
      await drive(1);
      await new Promise((r) => setTimeout(r, 300));
    }
    await evaluator.flushHistory();

    const bodies = hook.accepted.map((n) => n.body as WebhookPayload);
    expect(bodies.map((b) => b.status)).toEqual(['firing', 'resolved']);
    expect(hook.attempts).toBe(4); // two refused, then one per transition
    expect(bodies[0]?.monitor).toEqual({ id: 'queue-depth', name: 'Queue depth', severity: 'critical' });
    expect(bodies[0]?.alerts).toHaveLength(1);
    expect(bodies[0]?.alerts[0]).toMatchObject({
      state: 'firing',
      value: 10,
      message: 'checkout queue at 10 (over 5)',
      labels: {
        workload: 'checkout',
        team: 'payments',
        severity: 'critical',
        understory_monitor: 'queue-depth',
      },
    });
    expect(bodies[1]?.alerts[0]?.state).toBe('resolved');
    expect(hook.accepted[0]?.headers['x-understory-notification-id']).toBe(bodies[0]?.notificationId);

    const rows = await history(db.store, 'queue-depth');
    expect(rows.map((r) => `${r.Previous}->${r.State}:${r.Notified}`)).toEqual([
      'inactive->pending:none',
      'pending->firing:sent',
      'firing->resolved:sent',
    ]);
    expect((await readCurrent(reader)).filter((a) => a.monitorId === 'queue-depth')).toEqual([]);
    expect(stack.vmalert.stderr).not.toMatch(/error/i);
    expect(evaluator.invalidMonitors).toEqual([
      { id: 'broken', error: expect.stringMatching(/unexpected token/) },
    ]);
    expect((await evaluator.health()).detail).toMatch(/PromQL refused by VictoriaMetrics: broken/);
  });

  it('resolves a firing monitor that is deleted, once, and vmalert late pushes do not revive it', async () => {
    const hook2 = new WebhookReceiver();
    const url = await hook2.start();
    try {
      const { evaluator } = stack;
      await evaluator.config.put('target', target('hook2', { name: 'second hook', type: 'webhook', url }));
      await evaluator.config.put(
        'monitor',
        monitor('always', {
          name: 'Always',
          condition: { type: 'promql', query: 'vector(1)', op: '>', threshold: 0 },
          intervalSeconds: 1,
          targets: ['hook2'],
        }),
      );
      await until('firing', () => hook2.accepted.length >= 1, 30_000);
      await evaluator.config.delete('monitor', 'always');
      await until('resolved', () => hook2.accepted.length >= 2, 30_000);
      // A push vmalert evaluated before its reload, arriving late: it must not start the alert again.
      const late = await fetch(`http://127.0.0.1:${evaluator.receiverPort}/api/v2/alerts`, {
        method: 'POST',
        body: JSON.stringify([
          {
            labels: { alertname: 'always', understory_monitor: 'always', severity: 'warning' },
            annotations: { value: '1' },
            startsAt: new Date().toISOString(),
            endsAt: new Date(Date.now() + 60_000).toISOString(),
          },
        ]),
      });
      expect(late.status).toBe(200);
      await new Promise((r) => setTimeout(r, 3000));
      expect(hook2.accepted.map((n) => (n.body as WebhookPayload).status)).toEqual(['firing', 'resolved']);
    } finally {
      await hook2.close();
    }
  });
});
