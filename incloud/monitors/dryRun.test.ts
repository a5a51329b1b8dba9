import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlDryRunResult } from '../../lib/tunnel/monitors.ts';
import { createQueryRouter } from '../portal/handlers.ts';
import { defaultLimits } from '../portal/limits.ts';
import { QueryError } from '../portal/query.ts';
import type { QueryRouter } from '../portal/queryRouter.ts';
import { dt64ms } from './alertHistory.ts';
import { MonitorEvaluator } from './evaluator.ts';
import { FAST, monitor, openStore, TEST_KEYS } from './testing/stack.ts';

/**
 * `monitors.dryRun` through the portal's real QueryRouter on chdb with real otel_logs rows: the values one
 * evaluation yields now and whether the condition holds, the same values the evaluator records, nothing stored,
 * the evaluator's error words for a bad condition, and the portal's bounds.
 */
let db: Awaited<ReturnType<typeof openStore>>;
let router: QueryRouter;
const ctx = () => ({ signal: new AbortController().signal, timeoutMs: 30_000 });

const logRow = (service: string, severity: string, body: string) => ({
  Timestamp: dt64ms(Date.now() - 5_000),
  ServiceName: service,
  SeverityText: severity,
  SeverityNumber: severity === 'ERROR' ? 17 : 9,
  Body: body,
  ResourceAttributes: { 'k8s.namespace.name': 'shop' },
  LogAttributes: {},
});

const errorsByService = {
  type: 'sql',
  source: 'logs',
  filter: 'severity:error -"health check"',
  windowSeconds: 300,
  groupBy: 'service',
  op: '>',
  threshold: 3,
} as const;

beforeAll(async () => {
  db = await openStore();
  router = createQueryRouter({ clickhouse: db.store, targetSecrets: TEST_KEYS }, defaultLimits());
  await db.store.insert('otel_logs', [
    ...Array.from({ length: 5 }, (_, i) => logRow('checkout', 'ERROR', `payment failed ${i}`)),
    ...Array.from({ length: 2 }, () => logRow('cart', 'ERROR', 'cart write failed')),
    logRow('checkout', 'ERROR', 'health check failed'),
    logRow('checkout', 'INFO', 'ok'),
  ]);
});
afterAll(async () => {
  await db?.close();
});

async function dryRun(params: unknown, r = router): Promise<SqlDryRunResult> {
  const answer = await r.serve('monitors.dryRun', params, ctx());
  return (JSON.parse(new TextDecoder().decode(answer.body as Uint8Array)) as { result: SqlDryRunResult })
    .result;
}

async function refused(params: unknown, r = router): Promise<QueryError> {
  const err = await r.serve('monitors.dryRun', params, ctx()).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(QueryError);
  return err as QueryError;
}

describe('SQL condition dry run', () => {
  it('answers each group’s value and whether it holds; the evaluator records the same value', async () => {
    const before = Date.now();
    const result = await dryRun({ condition: errorsByService });
    expect(result.groups).toEqual([
      { group: 'checkout', value: 5, holds: true },
      { group: 'cart', value: 2, holds: false },
    ]);
    expect(result).toMatchObject({ holds: true, truncated: false, windowSeconds: 300 });
    expect(result.at).toBeGreaterThanOrEqual(before);
    // Nothing was stored: no monitor, no history.
    expect(await db.store.query('SELECT Id FROM monitor_config')).toEqual([]);
    expect(await db.store.query('SELECT MonitorId FROM alert_history')).toEqual([]);

    // The evaluator, given the same condition as a monitor, fires checkout with the same value.
    const evaluator = new MonitorEvaluator({ store: db.store, ...FAST });
    await evaluator.evaluateSql(monitor('same', { name: 'same', condition: errorsByService }), Date.now());
    await evaluator.flushHistory();
    await evaluator.shutdown();
    const rows = await db.store.query<{ State: string; Value: number; Labels: Record<string, string> }>(
      "SELECT State, Value, Labels FROM alert_history WHERE MonitorId = 'same'",
    );
    expect(rows.map((r) => [r.State, Number(r.Value), r.Labels.service])).toEqual([
      ['firing', 5, 'checkout'],
    ]);
  });

  it('counts no rows as 0 when not grouped, and says the condition does not hold', async () => {
    const result = await dryRun({
      condition: {
        type: 'sql',
        source: 'logs',
        filter: 'service:nobody',
        windowSeconds: 60,
        op: '>',
        threshold: 0,
      },
    });
    expect(result.groups).toEqual([{ group: '', value: 0, holds: false }]);
    expect(result.holds).toBe(false);
    // `count < 1` alerts on silence.
    const silence = await dryRun({
      condition: {
        type: 'sql',
        source: 'logs',
        filter: 'service:nobody',
        windowSeconds: 60,
        op: '<',
        threshold: 1,
      },
    });
    expect(silence.holds).toBe(true);
  });

  it('answers at most 100 groups, highest first, and says so', async () => {
    await db.store.insert(
      'otel_logs',
      Array.from({ length: 105 }, (_, i) => logRow(`svc-${String(i).padStart(3, '0')}`, 'WARN', 'slow disk')),
    );
    await db.store.insert('otel_logs', [logRow('svc-000', 'WARN', 'slow disk')]);
    const result = await dryRun({
      condition: { ...errorsByService, filter: 'severity:warn', threshold: 1 },
    });
    expect(result.groups).toHaveLength(100);
    expect(result.truncated).toBe(true);
    expect(result.groups[0]).toEqual({ group: 'svc-000', value: 2, holds: true });
    expect(result.groups.slice(1).every((g) => g.value === 1 && !g.holds)).toBe(true);
  });

  it('refuses a bad condition with the words the evaluator logs', async () => {
    const badField = await refused({
      condition: {
        type: 'sql',
        source: 'events',
        filter: 'attr.secret:x',
        windowSeconds: 60,
        op: '>',
        threshold: 1,
      },
    });
    expect(badField.code).toBe('bad_request');
    expect(badField.message).toBe('cannot evaluate SQL condition: cannot filter events by attr.secret');
    const unparsable = await refused({ condition: { ...errorsByService, filter: 'service:"unclosed' } });
    expect(unparsable.code).toBe('bad_request');
    expect(unparsable.message).toMatch(/^cannot evaluate SQL condition: /);
    // The shared schema refuses what could never be a SQL condition before the handler runs.
    expect((await refused({ condition: { ...errorsByService, aggregate: 'p99' } })).message).toMatch(
      /p99 needs source traces/,
    );
  });

  it('is bounded like every portal query', async () => {
    const limits = defaultLimits();
    limits.clickhouse.maxRowsToRead = 2;
    const tight = createQueryRouter({ clickhouse: db.store, targetSecrets: TEST_KEYS }, limits);
    const err = await refused({ condition: errorsByService }, tight);
    expect(err.code).toBe('too_large');
    expect(err.message).toMatch(/^cannot evaluate SQL condition: the query would scan more data/);
  });
});
