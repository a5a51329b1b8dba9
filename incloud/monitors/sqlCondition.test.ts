import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conditionHolds as compare, sqlCondition } from '../../lib/tunnel/monitors.ts';
import { ClickhouseReader } from '../portal/clickhouseReader.ts';
import { defaultLimits } from '../portal/limits.ts';
import { dt64ms } from './alertHistory.ts';
import { compileCondition, SqlConditionError } from './sqlCondition.ts';
import { openStore } from './testing/stack.ts';

let db: Awaited<ReturnType<typeof openStore>>;
let reader: ClickhouseReader;
const now = Date.now();

beforeAll(async () => {
  db = await openStore();
  reader = new ClickhouseReader(db.store, defaultLimits().clickhouse);
  // Durations 1..100 ms for checkout (10 of them errors), 500 ms for cart.
  const span = (i: number, service: string, ms: number, status: string) => ({
    Timestamp: dt64ms(now - 1000 - i),
    TraceId: i.toString(16).padStart(32, '0'),
    SpanId: i.toString(16).padStart(16, '0'),
    SpanName: 'POST /pay',
    ServiceName: service,
    Duration: ms * 1_000_000,
    StatusCode: status,
    SpanAttributes: { 'http.route': '/pay' },
    ResourceAttributes: { 'k8s.namespace.name': 'shop' },
  });
  await db.store.insert('otel_traces', [
    ...Array.from({ length: 100 }, (_, i) => span(i, 'checkout', i + 1, i < 10 ? 'STATUS_CODE_ERROR' : 'Ok')),
    span(200, 'cart', 500, 'Error'),
  ]);
});
afterAll(async () => db?.close());

const cond = (c: Record<string, unknown>) =>
  sqlCondition.parse({ type: 'sql', op: '>', threshold: 0, windowSeconds: 60, ...c });

async function run(c: Record<string, unknown>) {
  const { sql, params } = compileCondition(cond(c), now);
  return (await reader.select<{ g: string; v: number }>(sql, params)).map((r) => ({
    g: r.g,
    v: Number(r.v),
  }));
}

describe('SQL monitor conditions', () => {
  it('aggregates span durations per group (avg, p99 in ms, count of errors)', async () => {
    expect(await run({ source: 'traces', aggregate: 'avg', groupBy: 'service' })).toEqual([
      { g: 'cart', v: 500 },
      { g: 'checkout', v: 50.5 },
    ]);
    const p99 = await run({ source: 'traces', aggregate: 'p99', filter: 'service:checkout' });
    expect(p99).toHaveLength(1);
    expect(p99[0]!.v).toBeCloseTo(99.01, 1);
    // Both status spellings count as errors.
    expect(await run({ source: 'traces', filter: 'severity:error', groupBy: 'service' })).toEqual([
      { g: 'checkout', v: 10 },
      { g: 'cart', v: 1 },
    ]);
    expect(
      await run({
        source: 'traces',
        filter: 'attr.http.route:/pay -service:cart resource.k8s.namespace.name:shop',
      }),
    ).toEqual([{ g: '', v: 100 }]);
  });

  it('keeps user text out of the SQL: hostile values are bound parameters and match nothing', async () => {
    const hostile = "x') OR 1=1; DROP TABLE otel_traces; --";
    const { sql, params } = compileCondition(
      cond({ source: 'traces', filter: `service:"${hostile.replaceAll('"', '\\"')}" "${hostile}"` }),
      now,
    );
    expect(sql).not.toContain('DROP');
    expect(Object.values(params)).toContain(hostile);
    expect(await run({ source: 'traces', filter: `service:"${hostile}"` })).toEqual([]);
    expect((await db.store.query<{ c: number }>('SELECT count() AS c FROM otel_traces'))[0]?.c).toBe(101);
  });

  it('refuses fields a source does not have, with a clear error', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ source: 'events', filter: 'attr.password:x' }, /cannot filter events by attr.password/],
      [{ source: 'events', filter: 'resource.k8s.pod.name:x' }, /cannot filter events by resource/],
      [{ source: 'events', filter: 'trace_id:abc' }, /cannot filter events by trace_id/],
      [{ source: 'logs', filter: 'nosuchfield:x' }, /unknown field/],
      [{ source: 'logs', filter: '"unterminated' }, /unterminated quote/],
    ];
    for (const [c, message] of bad) expect(() => compileCondition(cond(c), now)).toThrow(message);
    expect(() => compileCondition(cond({ source: 'logs', filter: 'x:' }), now)).toThrow(SqlConditionError);
    expect(
      sqlCondition.safeParse({
        type: 'sql',
        source: 'logs',
        aggregate: 'p99',
        windowSeconds: 1,
        op: '>',
        threshold: 1,
      }).success,
    ).toBe(false);
    expect(
      sqlCondition.safeParse({
        type: 'sql',
        source: 'logs',
        groupBy: 'Body',
        windowSeconds: 1,
        op: '>',
        threshold: 1,
      }).success,
    ).toBe(false);
  });

  it('compares with every operator', () => {
    const cases: [number, '>' | '>=' | '<' | '<=' | '==' | '!=', number, boolean][] = [
      [2, '>', 1, true],
      [1, '>', 1, false],
      [1, '>=', 1, true],
      [0, '<', 1, true],
      [1, '<=', 1, true],
      [1, '==', 1, true],
      [1, '!=', 1, false],
    ];
    for (const [v, op, t, want] of cases) expect(compare(v, op, t)).toBe(want);
  });
});
