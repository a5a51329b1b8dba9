import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { AlertTracker } from './alertTracker.ts';
import { MonitorMetrics } from './metrics.ts';
import { isSilenced, Notifier } from './notifier.ts';
import { notificationAlert, renderMessage, type WebhookPayload } from './payloads.ts';
import { monitor, target, until } from './testing/stack.ts';
import { WebhookReceiver } from './testing/webhookReceiver.ts';

const m = monitor('m1', {
  name: 'Latency <api>',
  severity: 'critical',
  condition: { type: 'promql', query: 'up', op: '>', threshold: 0.5 },
  message: '{{monitor}} {{state}} at {{value}} on {{labels.pod}} {{unknown}}',
});
const tracker = new AlertTracker();
const fire = (pod: string) => tracker.active('m1', { pod }, 0.75, Date.now(), 0)[0]!;
const fast = {
  groupWaitMs: 100,
  retry: { initialMs: 20, maxMs: 100, maxAttempts: 3 },
  attemptTimeoutMs: 2000,
};

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function setup(receiver: WebhookReceiver, overrides: Partial<typeof fast> = {}) {
  const registry = new Registry();
  const metrics = new MonitorMetrics(registry);
  const notifier = new Notifier({ ...fast, ...overrides, metrics });
  cleanups.push(async () => {
    await notifier.shutdown();
    await receiver.close();
  });
  return { notifier, registry };
}

async function counter(registry: Registry, name: string, labels: Record<string, string>) {
  const metric = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const value = metric?.values.find((v) =>
    Object.entries(labels).every(([k, l]) => (v.labels as Record<string, string>)[k] === l),
  );
  return value?.value ?? 0;
}

describe('Notifier', () => {
  it('groups transitions of one monitor within the group wait into one notification', async () => {
    const hook = new WebhookReceiver();
    const url = await hook.start();
    const { notifier } = setup(hook);
    const t = target('t1', { name: 't', type: 'webhook', url, headers: { Authorization: 'Bearer s3cret' } });
    notifier.enqueue(m, t, notificationAlert(m, fire('a')));
    notifier.enqueue(m, t, notificationAlert(m, fire('b')));
    await hook.waitFor(1, 5000);
    await new Promise((r) => setTimeout(r, 300));
    expect(hook.accepted).toHaveLength(1);
    const body = hook.accepted[0]?.body as WebhookPayload;
    expect(body.status).toBe('firing');
    expect(body.alerts.map((a) => a.labels.pod)).toEqual(['a', 'b']);
    expect(body.alerts[0]?.message).toBe('Latency <api> firing at 0.75 on a {{unknown}}');
    expect(hook.accepted[0]?.headers.authorization).toBe('Bearer s3cret');
  });

  it('retries a failing receiver and delivers once; gives up after maxAttempts', async () => {
    const hook = new WebhookReceiver(2);
    const url = await hook.start();
    const { notifier, registry } = setup(hook);
    notifier.enqueue(m, target('t1', { name: 't', type: 'webhook', url }), notificationAlert(m, fire('c')));
    await hook.waitFor(1, 5000);
    expect(hook.attempts).toBe(3);
    await until(
      'the delivery counted',
      async () => (await counter(registry, 'monitors_notifications_total', { outcome: 'delivered' })) === 1,
      5000,
    );

    const down = new WebhookReceiver(100);
    const downUrl = await down.start();
    cleanups.push(() => down.close());
    notifier.enqueue(
      m,
      target('t2', { name: 't', type: 'webhook', url: downUrl }),
      notificationAlert(m, fire('d')),
    );
    await until(
      'giving up',
      async () => (await counter(registry, 'monitors_notifications_total', { outcome: 'failed' })) === 1,
      5000,
    );
    expect(down.attempts).toBe(3);
  });

  it('does not retry a 4xx answer other than 408/429', async () => {
    let attempts = 0;
    const server = createServer((req, res) => {
      attempts++;
      req.resume();
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const hook = new WebhookReceiver();
    const { notifier, registry } = setup(hook);
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    notifier.enqueue(m, target('t3', { name: 't', type: 'webhook', url }), notificationAlert(m, fire('e')));
    await until(
      'failure',
      async () => (await counter(registry, 'monitors_notifications_total', { outcome: 'failed' })) === 1,
      5000,
    );
    expect(attempts).toBe(1);
  });

  it('sends the Slack-compatible payload with escaped text', async () => {
    const hook = new WebhookReceiver();
    const url = await hook.start();
    const { notifier } = setup(hook);
    notifier.enqueue(m, target('s1', { name: 'slack', type: 'slack', url }), notificationAlert(m, fire('f')));
    await hook.waitFor(1, 5000);
    const body = hook.accepted[0]?.body as {
      text: string;
      blocks: { type: string; text: { text: string } }[];
    };
    expect(body.text).toBe(':rotating_light: [FIRING] Latency &lt;api&gt; (critical)');
    expect(body.blocks[1]?.text.text).toBe('• *firing* Latency &lt;api&gt; firing at 0.75 on f {{unknown}}');
  });
});

describe('silences and messages', () => {
  it('matches every matcher within the time window only', () => {
    const s = {
      id: 's',
      matchers: { pod: 'a', understory_monitor: 'm1' },
      startsAt: 100,
      endsAt: 200,
      comment: '',
      createdBy: '',
    };
    expect(isSilenced([s], { pod: 'a', understory_monitor: 'm1', x: 'y' }, 150)).toBe(true);
    expect(isSilenced([s], { pod: 'b', understory_monitor: 'm1' }, 150)).toBe(false);
    expect(isSilenced([s], { pod: 'a' }, 150)).toBe(false);
    expect(isSilenced([s], { pod: 'a', understory_monitor: 'm1' }, 200)).toBe(false);
    expect(isSilenced([s], { pod: 'a', understory_monitor: 'm1' }, 99)).toBe(false);
  });

  it('renders only the known placeholders', () => {
    const t = { ...fire('g'), value: 1 / 3 };
    expect(
      renderMessage(
        { ...m, message: '{{ value }} {{threshold}} {{severity}} {{labels.nope}}|{{$labels}}' },
        t,
      ),
    ).toBe('0.333333 0.5 critical |{{$labels}}');
  });
});
