import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueryRouter } from '../portal/handlers.ts';
import { defaultLimits } from '../portal/limits.ts';
import type { QueryRouter } from '../portal/queryRouter.ts';
import { dt64ms } from './alertHistory.ts';
import { MonitorEvaluator } from './evaluator.ts';
import { FAST, monitor, openStore, TEST_KEYS } from './testing/stack.ts';

/**
 * `lastTransitionAt` on the monitors API (portal kinds on chdb): the real evaluator takes a SQL monitor over
 * real log rows through pending, firing and resolved at chosen times, and each monitor record says since when
 * it is in its state, from the history the evaluator wrote.
 */
let db: Awaited<ReturnType<typeof openStore>>;
let router: QueryRouter;
let evaluator: MonitorEvaluator;
const ctx = () => ({ signal: new AbortController().signal, timeoutMs: 30_000 });

beforeAll(async () => {
  db = await openStore();
  router = createQueryRouter({ clickhouse: db.store, targetSecrets: TEST_KEYS }, defaultLimits());
  evaluator = new MonitorEvaluator({ store: db.store, ...FAST });
});
afterAll(async () => {
  await evaluator?.shutdown();
  await db?.close();
});

async function call<T>(kind: string, params: unknown): Promise<T> {
  const answer = await router.serve(kind, params, ctx());
  return JSON.parse(new TextDecoder().decode(answer.body as Uint8Array)) as T;
}

type Listed = { id: string; alerts: { pending: number; firing: number }; lastTransitionAt: number | null };
async function state(id: string) {
  await evaluator.flushHistory();
  const { monitors } = await call<{ monitors: Listed[] }>('monitors.list', {});
  const listed = monitors.find((m) => m.id === id)!;
  const got = await call<{ lastTransitionAt: number | null; monitor: object }>('monitors.get', { id });
  expect(got.lastTransitionAt).toBe(listed.lastTransitionAt);
  expect(got.monitor).not.toHaveProperty('lastTransitionAt');
  return listed;
}

describe('alert state on the monitor record', () => {
  it('says since when a monitor is pending, firing, then OK', async () => {
    const now = Date.now();
    await db.store.insert(
      'otel_logs',
      Array.from({ length: 3 }, (_, i) => ({
        Timestamp: dt64ms(now - 5_000),
        ServiceName: 'checkout',
        SeverityText: 'ERROR',
        SeverityNumber: 17,
        Body: `payment failed ${i}`,
        ResourceAttributes: {},
        LogAttributes: {},
      })),
    );
    const m = monitor('errors', {
      name: 'errors',
      forSeconds: 60,
      condition: {
        type: 'sql',
        source: 'logs',
        filter: 'severity:error',
        windowSeconds: 300,
        op: '>',
        threshold: 2,
      },
    });
    await evaluator.config.put('monitor', m);
    await evaluator.config.put('monitor', monitor('quiet', { ...m, name: 'quiet' }));
    await evaluator.sync();
    expect((await state('errors')).lastTransitionAt).toBeNull();

    const t0 = now;
    await evaluator.evaluateSql(m, t0);
    expect(await state('errors')).toMatchObject({ alerts: { pending: 1, firing: 0 }, lastTransitionAt: t0 });
    // Still pending a little later: the state has not changed, neither has the time.
    await evaluator.evaluateSql(m, t0 + 30_000);
    expect((await state('errors')).lastTransitionAt).toBe(t0);

    const t1 = t0 + 61_000;
    await evaluator.evaluateSql(m, t1);
    expect(await state('errors')).toMatchObject({ alerts: { pending: 0, firing: 1 }, lastTransitionAt: t1 });

    // The rows leave the window: resolved, OK since then.
    const t2 = t0 + 400_000;
    await evaluator.evaluateSql(m, t2);
    expect(await state('errors')).toMatchObject({ alerts: { pending: 0, firing: 0 }, lastTransitionAt: t2 });
    expect((await state('quiet')).lastTransitionAt).toBeNull();
  });
});
