import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MonitorSpec } from '../../lib/tunnel/monitors.ts';
import { createQueryRouter } from '../portal/handlers.ts';
import { defaultLimits } from '../portal/limits.ts';
import { QueryError } from '../portal/query.ts';
import type { QueryRouter } from '../portal/queryRouter.ts';
import { VictoriaMetricsProcess } from '../testing/victoriaMetrics.ts';
import { openStore, TEST_KEYS } from './testing/stack.ts';
import { renderRules } from './vmalertRules.ts';

/** The portal's monitor kinds through the real QueryRouter, on chdb, with VictoriaMetrics checking PromQL. */
let db: Awaited<ReturnType<typeof openStore>>;
let vm: VictoriaMetricsProcess;
let router: QueryRouter;
const ctx = () => ({ signal: new AbortController().signal, timeoutMs: 30_000 });

beforeAll(async () => {
  vm = new VictoriaMetricsProcess();
  await vm.start();
  db = await openStore();
  router = createQueryRouter(
    { clickhouse: db.store, victoriaMetricsUrl: vm.url, targetSecrets: TEST_KEYS },
    defaultLimits(),
  );
});
afterAll(async () => {
  await vm?.close();
  await db?.close();
});

async function call<T = Record<string, unknown>>(kind: string, params: unknown): Promise<T> {
  const answer = await router.serve(kind, params, ctx());
  expect(answer.status).toBe(200);
  return JSON.parse(new TextDecoder().decode(answer.body as Uint8Array)) as T;
}

async function refused(kind: string, params: unknown): Promise<QueryError> {
  const err = await router.serve(kind, params, ctx()).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(QueryError);
  return err as QueryError;
}

const promMonitor = (extra: object = {}) => ({
  name: 'High load',
  condition: {
    type: 'promql',
    query: 'sum(rate(http_server_request_duration_seconds_count[5m]))',
    op: '>',
    threshold: 100,
  },
  ...extra,
});

describe('monitor kinds', () => {
  it('refuses to store a target when the portal has no secrets key (503, nothing written)', async () => {
    const keyless = createQueryRouter({ clickhouse: db.store }, defaultLimits());
    const err = await keyless
      .serve(
        'targets.put',
        { target: { id: 'no-key', name: 'x', type: 'webhook', url: 'https://h/x' } },
        ctx(),
      )
      .then(
        () => undefined,
        (e: unknown) => e as QueryError,
      );
    expect(err?.code).toBe('unavailable');
    expect(err?.message).toMatch(/no secrets key is configured \(--secrets-key-file/);
    expect(await db.store.query("SELECT Id FROM monitor_config WHERE Id = 'no-key'")).toEqual([]);
  });

  it('stores targets without ever answering their secrets', async () => {
    const secretUrl = 'https://hooks.example.com/services/T000/B000/XXXXSECRET';
    const { target } = await call<{ target: { id: string } }>('targets.put', {
      target: {
        id: 'slack-ops',
        name: 'ops',
        type: 'slack',
        url: secretUrl,
        headers: { 'X-Token': 'tok-123' },
      },
    });
    expect(target).toEqual({
      id: 'slack-ops',
      name: 'ops',
      type: 'slack',
      host: 'hooks.example.com',
      headerNames: ['X-Token'],
    });
    const listed = JSON.stringify(await call('targets.list', {}));
    expect(listed).not.toContain('XXXXSECRET');
    expect(listed).not.toContain('tok-123');
    // At rest: the raw rows in ClickHouse hold neither the URL's path nor the header value.
    const raw = JSON.stringify(await db.store.query('SELECT * FROM monitor_config'));
    expect(raw).toContain('slack-ops');
    expect(raw).toContain(`v1.${TEST_KEYS.currentId}.`);
    expect(raw).not.toContain('XXXXSECRET');
    expect(raw).not.toContain('T000/B000');
    expect(raw).not.toContain('tok-123');
    expect(
      (await refused('targets.put', { target: { name: 'x', type: 'webhook', url: 'file:///etc/passwd' } }))
        .code,
    ).toBe('bad_request');
  });

  it('creates, lists, gets and deletes monitors; refuses ones that could not run', async () => {
    const { monitor } = await call<{ monitor: MonitorSpec }>('monitors.put', {
      monitor: promMonitor({ targets: ['slack-ops'] }),
    });
    expect(monitor.id).toMatch(/^mon_[0-9a-f]{12}$/);
    expect(monitor).toMatchObject({ enabled: true, severity: 'warning', intervalSeconds: 60, forSeconds: 0 });
    const got = await call<{ monitor: MonitorSpec; alerts: unknown[] }>('monitors.get', { id: monitor.id });
    expect(got).toEqual({ monitor, alerts: [], lastTransitionAt: null });
    const list = await call<{ monitors: (MonitorSpec & { alerts: object })[] }>('monitors.list', {});
    expect(list.monitors.map((m) => m.id)).toContain(monitor.id);
    expect(list.monitors.find((m) => m.id === monitor.id)?.alerts).toEqual({ pending: 0, firing: 0 });

    // An update keeps the id; the newest version wins.
    await call('monitors.put', { monitor: { ...promMonitor(), id: monitor.id, name: 'Renamed' } });
    expect((await call<{ monitor: MonitorSpec }>('monitors.get', { id: monitor.id })).monitor.name).toBe(
      'Renamed',
    );

    // Unused again after the update: it can go.
    expect(await call('targets.delete', { id: 'slack-ops' })).toEqual({ deleted: 'slack-ops' });
    await call('targets.put', {
      target: { id: 'slack-ops', name: 'ops', type: 'slack', url: 'https://hooks.example.com/x' },
    });
    await call('monitors.put', { monitor: { ...promMonitor(), id: monitor.id, targets: ['slack-ops'] } });
    expect((await refused('targets.delete', { id: 'slack-ops' })).message).toMatch(/used by/);

    expect((await refused('monitors.put', { monitor: promMonitor({ targets: ['nope'] }) })).message).toMatch(
      /no notification target nope/,
    );
    expect(
      (
        await refused('monitors.put', {
          monitor: promMonitor({ condition: { type: 'promql', query: 'sum(', op: '>', threshold: 1 } }),
        })
      ).message,
    ).toMatch(/VictoriaMetrics refused/);
    const badSql = {
      type: 'sql',
      source: 'events',
      filter: 'attr.secret:x',
      windowSeconds: 60,
      op: '>',
      threshold: 1,
    };
    expect((await refused('monitors.put', { monitor: promMonitor({ condition: badSql }) })).message).toMatch(
      /cannot filter events by attr.secret/,
    );
    expect(
      (await refused('monitors.put', { monitor: promMonitor({ labels: { team: '{{ query "up" }}' } }) }))
        .code,
    ).toBe('bad_request');
    expect(
      (await refused('monitors.put', { monitor: promMonitor({ labels: { severity: 'x' } }) })).code,
    ).toBe('bad_request');

    await call('monitors.delete', { id: monitor.id });
    expect((await refused('monitors.get', { id: monitor.id })).code).toBe('not_found');
    expect((await refused('monitors.delete', { id: monitor.id })).code).toBe('not_found');
  });

  it('turns every ready-made template into a monitor vmalert accepts', async () => {
    const { templates } = await call<{ templates: { id: string }[] }>('monitors.templates', {});
    expect(templates.map((t) => t.id)).toEqual([
      'workload-error-rate',
      'resource-p99-latency',
      'pod-restarts',
      'failed-scheduling',
      'error-log-burst',
    ]);
    const params = { namespace: 'shop', workload: 'checkout', resource: '/api/pay', service: 'checkout' };
    const made: MonitorSpec[] = [];
    for (const t of templates)
      made.push(
        (await call<{ monitor: MonitorSpec }>('monitors.fromTemplate', { template: t.id, params })).monitor,
      );
    expect(made.map((m) => m.condition.type)).toEqual(['promql', 'promql', 'sql', 'sql', 'sql']);
    expect(
      (
        await refused('monitors.fromTemplate', {
          template: 'workload-error-rate',
          params: { namespace: 'a b' },
        })
      ).code,
    ).toBe('bad_request');
    // The rendered rules file, with a hostile-looking query too, passes vmalert's own validation.
    const hostile = {
      ...made[0]!,
      id: 'hostile',
      condition: {
        type: 'promql' as const,
        query: 'label_replace(up, "x", "a\\"}\\n- b: c", "", "")',
        op: '>' as const,
        threshold: 1,
      },
    };
    const file = join(db.dir, 'check-rules.json');
    writeFileSync(file, renderRules([...made, hostile]));
    const { stderr } = await promisify(execFile)('vmalert', [
      `-rule=${file}`,
      '-dryRun',
      '-loggerLevel=WARN',
    ]).catch((e: { stderr: string }) => ({ stderr: `FAILED ${e.stderr}` }));
    expect(stderr).not.toMatch(/FAILED|error/i);
    const rules = JSON.parse(renderRules([hostile])) as { groups: { rules: { expr: string }[] }[] };
    expect(rules.groups[0]?.rules[0]?.expr).toBe('(label_replace(up, "x", "a\\"}\\n- b: c", "", "")) > 1');
  });

  it('reads history within the allowed range only', async () => {
    const now = Date.now();
    expect(await call('alerts.history', { start: now - 60_000, end: now })).toEqual({ history: [] });
    expect(await call('alerts.list', {})).toEqual({ alerts: [] });
    expect((await refused('alerts.history', { start: 0, end: now })).code).toBe('bad_request');
  });
});
