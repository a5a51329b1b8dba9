import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogsSearchAnswer } from '../../lib/tunnel/index.ts';
import type { ChdbStore } from '../clickhouse/chdbStore.ts';
import { createQueryRouter } from './handlers.ts';
import { defaultLimits, type PortalLimits } from './limits.ts';
import type { QueryRouter } from './queryRouter.ts';
import { type Fixture, openFixtureStore } from './testing/fixtures.ts';

/**
 * The ClickHouse-backed query kinds against chdb with the project's migrations and real rows (the OTLP examples
 * plus generated rows). Expected answers are computed from the fixture in JavaScript, not written by hand.
 */
let store: ChdbStore;
let fixture: Fixture;
let close: () => Promise<void>;
let router: QueryRouter;
const base = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
const range = { start: base, end: base + 3_660_000 };
const ctx = () => ({ signal: new AbortController().signal, timeoutMs: 30_000 });

beforeAll(async () => {
  ({ store, fixture, close } = await openFixtureStore(base));
  router = createQueryRouter({ clickhouse: store }, defaultLimits());
});
afterAll(async () => close?.());

async function run<T>(kind: string, params: unknown, r: QueryRouter = router): Promise<T> {
  const answer = await r.serve(kind, params, ctx());
  expect(answer.status).toBe(200);
  return JSON.parse(new TextDecoder().decode(answer.body as Uint8Array)) as T;
}
const logs = (query: string, extra: object = {}) =>
  run<LogsSearchAnswer>('logs.search', { ...range, query, limit: 1000, ...extra });

type Log = Record<string, unknown> & {
  LogAttributes?: Record<string, string>;
  ResourceAttributes?: Record<string, string>;
};
const all = () => fixture.logs as Log[];
const body = (l: Log) => String(l.Body).toLowerCase();

describe('logs.search', () => {
  it.each<[string, (l: Log) => boolean]>([
    ['', () => true],
    ['service:checkout', (l) => l.ServiceName === 'checkout'],
    ['-service:checkout', (l) => l.ServiceName !== 'checkout'],
    ['service:check*', (l) => String(l.ServiceName).startsWith('check')],
    ['refused', (l) => body(l).includes('refused')],
    ['REFUSED', (l) => body(l).includes('refused')],
    ['"connection refused"', (l) => body(l).includes('connection refused')],
    ['-"connection refused" -refused', (l) => !body(l).includes('refused')],
    ['severity:error', (l) => String(l.SeverityText).toLowerCase() === 'error'],
    ['attr.http.method:POST', (l) => l.LogAttributes?.['http.method'] === 'POST'],
    ['attr.user_id:*', (l) => l.LogAttributes?.user_id !== undefined],
    ['-attr.user_id:*', (l) => l.LogAttributes?.user_id === undefined],
    ['pod:checkout-0', (l) => l.ResourceAttributes?.['k8s.pod.name'] === 'checkout-0'],
    ['resource.k8s.pod.name:checkout-0', (l) => l.ResourceAttributes?.['k8s.pod.name'] === 'checkout-0'],
    [
      'namespace:shop service:payments refused',
      (l) => l.ServiceName === 'payments' && body(l).includes('refused'),
    ],
    ['trace_id:5B8EFFF798038103D269B633813FC60C', (l) => l.TraceId === '5b8efff798038103d269b633813fc60c'],
    ['attr.string.attribute:"some string"', (l) => l.LogAttributes?.['string.attribute'] === 'some string'],
  ])('%j matches what the fixture says', async (query, predicate) => {
    const expected = all().filter(predicate).length;
    expect(expected).toBeGreaterThan(0);
    const a = await logs(query);
    expect(a.total).toBe(expected);
    expect(a.rows).toHaveLength(Math.min(expected, 1000));
    expect(a.histogram.reduce((s, b) => s + b.count, 0)).toBe(expected);
  });

  it('returns the newest rows first, limited, with a histogram of the whole range', async () => {
    const a = await logs('service:checkout', { limit: 5, buckets: 61 });
    expect(a.rows).toHaveLength(5);
    const ts = a.rows.map((r) => BigInt(r.timestamp));
    expect([...ts].sort((x, y) => (x > y ? -1 : 1))).toEqual(ts);
    expect(a.histogram).toHaveLength(61);
    expect(a.bucketMs).toBe(60_000);
    expect(a.histogram[0]?.start).toBe(range.start);
    // 10 lines a minute, every third one checkout: 3 or 4 per full minute.
    for (const b of a.histogram.slice(1, 59)) expect([3, 4]).toContain(b.count);
    expect(a.rows[0]).toMatchObject({ service: 'checkout', resource: { 'k8s.namespace.name': 'shop' } });
  });

  it('returns the oldest rows first with order asc (the lines after a point)', async () => {
    const newest = await logs('service:checkout', { limit: 1000 });
    const a = await logs('service:checkout', { limit: 5, order: 'asc' });
    expect(a.rows.map((r) => r.timestamp)).toEqual(
      newest.rows
        .slice(-5)
        .reverse()
        .map((r) => r.timestamp),
    );
    expect(a.total).toBe(newest.total);
  });

  it('carries the OTLP example record with its attributes', async () => {
    const a = await logs('service:my.service');
    expect(a.rows[0]).toMatchObject({
      body: 'Example log record',
      severity: 'Information',
      traceId: '5b8efff798038103d269b633813fc60c',
      attributes: { 'string.attribute': 'some string', 'int.attribute': '10' },
    });
  });

  it.each([
    ['"x\'); DROP TABLE otel_logs; --"', 1],
    ['service:"o\'brien"', 1],
    ['"{p0:String}"', 1],
    ["service:x' OR '1'='1", 0],
    ['body:"\\\\"', 1],
  ])('treats %j as data, never as SQL (%i rows)', async (query, count) => {
    const a = await logs(query);
    expect(a.total).toBe(count);
    const n = await store.query<{ n: number }>('SELECT count() AS n FROM otel_logs');
    expect(Number(n[0]?.n)).toBe(fixture.logs.length);
  });

  it.each([
    ["attr.we'ird:1", 'attribute key'],
    ['http://example.com', 'unknown field'],
    ['"unterminated', 'unterminated quote'],
    ['service:', 'no value'],
    [Array.from({ length: 21 }, (_, i) => `t${i}`).join(' '), 'more than 20 terms'],
    [`body:"${'x'.repeat(600)}"`, 'longer than 512'],
  ])('refuses %j with a clear error', async (query, fragment) => {
    await expect(router.serve('logs.search', { ...range, query }, ctx())).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringContaining(fragment),
    });
  });

  it('bounds unbounded work: a wide range is refused, a scan past max_rows_to_read is stopped', async () => {
    const limits: PortalLimits = { ...defaultLimits(), maxRangeMs: 3_600_000 };
    const narrow = createQueryRouter({ clickhouse: store }, limits);
    await expect(
      narrow.serve('logs.search', { ...range, end: range.start + 7_200_000 }, ctx()),
    ).rejects.toMatchObject({
      code: 'bad_request',
    });
    const tiny = createQueryRouter(
      { clickhouse: store },
      { ...defaultLimits(), clickhouse: { ...defaultLimits().clickhouse, maxRowsToRead: 100 } },
    );
    await expect(tiny.serve('logs.search', { ...range, query: 'refused' }, ctx())).rejects.toMatchObject({
      code: 'too_large',
    });
    await expect(router.serve('logs.search', { ...range, limit: 100_000 }, ctx())).rejects.toMatchObject({
      code: 'bad_request',
    });
  });
});

describe('traces', () => {
  type Spans = {
    spans: { traceId: string; spanId: string; durationNs: string; status: string; name: string }[];
  };

  it.each<[object, (s: Record<string, unknown>) => boolean]>([
    [{}, () => true],
    [{ service: 'payments' }, (s) => s.ServiceName === 'payments'],
    [{ status: 'error' }, (s) => ['STATUS_CODE_ERROR', 'Error'].includes(String(s.StatusCode))],
    [{ resource: '/api/orders/{id}' }, (s) => s.SpanName === 'GET /api/orders/{id}'],
    [{ resource: 'GET /health' }, (s) => s.SpanName === 'GET /health'],
    [{ rootOnly: true }, (s) => !s.ParentSpanId],
    [{ rootOnly: 'true', service: 'checkout' }, (s) => !s.ParentSpanId && s.ServiceName === 'checkout'],
    [
      { minDurationMs: 50, maxDurationMs: 60 },
      (s) => Number(s.Duration) >= 50e6 && Number(s.Duration) <= 60e6,
    ],
    [
      { service: 'payments', status: 'error', minDurationMs: 50 },
      (s) =>
        s.ServiceName === 'payments' && String(s.StatusCode).includes('ERROR') && Number(s.Duration) >= 50e6,
    ],
  ])('search %j', async (filter, predicate) => {
    const expected = fixture.spans.filter(predicate);
    expect(expected.length).toBeGreaterThan(0);
    const a = await run<Spans>('traces.search', { ...range, limit: 1000, ...filter });
    expect(a.spans.map((s) => s.spanId).sort()).toEqual(expected.map((s) => s.SpanId).sort());
  });

  it('a trace with all its spans, in time order, found by an upper-case id', async () => {
    const a = await run<Spans>('traces.get', { traceId: fixture.traceId.toUpperCase() });
    expect(a.spans.map((s) => s.name)).toEqual(['GET /api/orders/{id}', 'POST /charge', 'SELECT orders']);
    expect(a.spans[0]?.durationNs).toBe('250000000');
  });

  it('span detail with headers, bodies, events and status', async () => {
    const a = await run<Record<string, unknown>>('traces.span', {
      traceId: fixture.traceId,
      spanId: 'c1'.repeat(8),
    });
    expect(a).toMatchObject({
      name: 'POST /charge',
      status: 'Error',
      statusMessage: 'card declined',
      headers: { 'http.request.header.authorization': '[REDACTED]' },
      bodies: { 'http.request.body': '{"amount":12}', 'http.response.body': '{"error":"card declined"}' },
      attributes: { 'http.response.status_code': '502' },
      events: [{ name: 'retry', attributes: { attempt: '2' } }],
    });
  });

  it('the OTLP example span, and clear not-found answers', async () => {
    const a = await run<Spans>('traces.get', { traceId: '5B8EFFF798038103D269B633813FC60C' });
    expect(a.spans.map((s) => s.name)).toEqual(["I'm a server span"]);
    await expect(router.serve('traces.get', { traceId: 'f'.repeat(32) }, ctx())).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(
      router.serve('traces.span', { traceId: fixture.traceId, spanId: 'f'.repeat(16) }, ctx()),
    ).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('events.list', () => {
  type Events = { events: { name: string; count: number; reason: string }[] };

  it('lists the latest version of each event, newest first, with filters', async () => {
    const a = await run<Events>('events.list', range);
    expect(a.events.map((e) => e.name)).toEqual(['ev-1', 'ev-3', 'ev-2', 'ev-0']);
    expect(a.events[0]).toMatchObject({ count: 5, reason: 'BackOff' });
    const warnings = await run<Events>('events.list', { ...range, type: 'Warning', namespace: 'shop' });
    expect(warnings.events.map((e) => e.name)).toEqual(['ev-1']);
    const none = await run<Events>('events.list', { ...range, namespace: "shop' OR 1=1 --" });
    expect(none.events).toEqual([]);
  });
});
