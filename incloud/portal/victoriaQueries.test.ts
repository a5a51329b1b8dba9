import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VictoriaMetricsProcess } from '../testing/victoriaMetrics.ts';
import { createQueryRouter } from './handlers.ts';
import { defaultLimits } from './limits.ts';
import { withTimeout } from './prometheus.ts';
import type { QueryAnswer } from './query.ts';
import type { QueryRouter } from './queryRouter.ts';
import { importRedData } from './testing/redData.ts';

/**
 * The VictoriaMetrics-backed kinds against a private VictoriaMetrics with RED histograms imported at known
 * rates (timestamps shifted to the last hour).
 */
let vm: VictoriaMetricsProcess;
let router: QueryRouter;
const end = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
const range = { start: end - 3_600_000, end };
const ctx = () => ({ signal: new AbortController().signal, timeoutMs: 30_000 });

beforeAll(async () => {
  vm = new VictoriaMetricsProcess();
  await vm.start();
  await importRedData(vm.url, end);
  await vm.flush();
  router = createQueryRouter({ victoriaMetricsUrl: vm.url }, defaultLimits());
});
afterAll(async () => vm?.close());

async function bodyText(a: QueryAnswer): Promise<string> {
  const parts: Uint8Array[] = [];
  if (a.body instanceof Uint8Array) parts.push(a.body);
  else for await (const p of a.body) parts.push(p);
  return Buffer.concat(parts).toString('utf8');
}
async function json<T>(kind: string, params: unknown, r = router): Promise<T> {
  const a = await r.serve(kind, params, ctx());
  expect(a.status).toBe(200);
  return JSON.parse(await bodyText(a)) as T;
}
async function direct(path: string, args: [string, string][]): Promise<unknown> {
  const res = await fetch(`${vm.url}${path}?${new URLSearchParams(args)}`);
  return res.json();
}
const dataOf = (v: unknown) => (v as { data: unknown }).data;

describe('Prometheus API passthrough', () => {
  const t = String(end / 1000);
  it.each<[string, [string, string][]]>([
    [
      '/api/v1/query',
      [
        ['query', 'sum by (workload) (rate(http_server_request_duration_seconds_count[5m]))'],
        ['time', t],
      ],
    ],
    [
      '/api/v1/query_range',
      [
        ['query', 'sum(rate(db_client_operation_duration_seconds_count[5m]))'],
        ['start', String(range.start / 1000)],
        ['end', t],
        ['step', '300'],
      ],
    ],
    [
      '/api/v1/series',
      [
        ['match[]', 'http_client_request_duration_seconds_count'],
        ['start', String(range.start / 1000)],
        ['end', t],
      ],
    ],
    [
      '/api/v1/labels',
      [
        ['start', String(range.start / 1000)],
        ['end', t],
      ],
    ],
    [
      '/api/v1/label/workload/values',
      [
        ['start', String(range.start / 1000)],
        ['end', t],
      ],
    ],
    ['/api/v1/metadata', []],
  ])('%s answers what VictoriaMetrics answers directly (GET and POST)', async (path, args) => {
    const expected = dataOf(await direct(path, args));
    for (const method of ['GET', 'POST'] as const) {
      const got = await json<unknown>('prom', { path, method, args });
      expect(dataOf(got)).toEqual(expected);
    }
    if (path !== '/api/v1/metadata') expect(JSON.stringify(expected).length).toBeGreaterThan(20);
  });

  it('drops arguments outside the read-only set (extra_label would filter the answer)', async () => {
    const args: [string, string][] = [
      ['query', 'count(http_server_request_duration_seconds_count)'],
      ['time', t],
    ];
    const plain = await json<unknown>('prom', { path: '/api/v1/query', method: 'GET', args });
    const extra = await json<unknown>('prom', {
      path: '/api/v1/query',
      method: 'GET',
      args: [...args, ['extra_label', 'workload=payments']],
    });
    expect(dataOf(extra)).toEqual(dataOf(plain));
  });

  it('passes PromQL errors through with their status', async () => {
    const a = await router.serve(
      'prom',
      { path: '/api/v1/query', method: 'GET', args: [['query', 'sum(']] },
      ctx(),
    );
    expect(a.status).toBe(422);
    expect(await bodyText(a)).toContain('error');
  });

  it('reaches nothing outside the allow-list', async () => {
    for (const path of [
      '/api/v1/import',
      '/api/v1/admin/tsdb/delete_series',
      '/internal/force_flush',
      '/api/v1/export',
    ])
      await expect(router.serve('prom', { path, method: 'POST', args: [] }, ctx())).rejects.toMatchObject({
        code: 'bad_request',
      });
  });

  it('bounds the size of an answer and reports an unreachable VictoriaMetrics', async () => {
    const small = createQueryRouter(
      { victoriaMetricsUrl: vm.url },
      { ...defaultLimits(), prometheus: { maxResponseBytes: 100 } },
    );
    const a = await small.serve('prom', { path: '/api/v1/labels', method: 'GET', args: [] }, ctx());
    await expect(bodyText(a)).rejects.toMatchObject({ code: 'too_large' });
    const down = createQueryRouter({ victoriaMetricsUrl: 'http://127.0.0.1:9' }, defaultLimits());
    await expect(
      down.serve('prom', { path: '/api/v1/labels', method: 'GET', args: [] }, ctx()),
    ).rejects.toMatchObject({
      code: 'unavailable',
    });
  });
});

describe('withTimeout', () => {
  it.each<[[string, string][], number, string]>([
    [[], 30_000, '30s'],
    [[['timeout', '5s']], 30_000, '5s'],
    [[['timeout', '2m']], 30_000, '30s'],
    [[['timeout', '90s']], 30_000, '30s'],
    [[], 200, '1s'],
  ])('%j with a %i ms deadline -> %s', (args, ms, expected) => {
    const out = withTimeout(args, ms);
    expect(out.filter(([k]) => k === 'timeout')).toEqual([['timeout', expected]]);
  });
});

describe('RED figures from the sensor metrics', () => {
  type Red = { requestRate: number; errorRate: number; p50: number; p95: number; p99: number };

  /** Linear interpolation inside the buckets of redData.ts: 50% <= 0.1 s, 90% <= 0.5 s, all <= 1 s. */
  function expectQuantiles(r: Red) {
    expect(r.p50).toBeCloseTo(0.1, 6);
    expect(r.p95).toBeCloseTo(0.75, 6);
    expect(r.p99).toBeCloseTo(0.95, 6);
  }

  it('services.list: every workload with rate, error share and latency', async () => {
    const { services } = await json<{ services: (Red & { workload: string; namespace: string })[] }>(
      'services.list',
      range,
    );
    expect(services.map((s) => s.workload)).toEqual(['checkout', 'payments']);
    const checkout = services[0]!;
    expect(checkout.namespace).toBe('shop');
    expect(checkout.requestRate).toBeCloseTo(1.5, 2);
    expect(checkout.errorRate).toBeCloseTo(0.1 / 1.5, 3);
    expectQuantiles(checkout);
    expect(services[1]?.errorRate).toBe(0);
  });

  it('services.resources: one workload per method and resource', async () => {
    const { resources } = await json<{ resources: (Red & { resource: string; method: string })[] }>(
      'services.resources',
      {
        ...range,
        namespace: 'shop',
        workload: 'checkout',
      },
    );
    expect(resources.map((r) => `${r.method} ${r.resource}`)).toEqual([
      'GET /api/orders/{id}',
      'POST /api/cart',
    ]);
    expect(resources[0]?.requestRate).toBeCloseTo(1.1, 2);
    expect(resources[0]?.errorRate).toBeCloseTo(0.1 / 1.1, 3);
  });

  it('services.map: nodes and edges with RED, external peers marked', async () => {
    const map = await json<{
      nodes: { workload: string; external: boolean }[];
      edges: (Red & { source: { workload: string }; target: string; protocol: string })[];
    }>('services.map', range);
    expect(map.nodes.map((n) => `${n.workload}:${n.external}`).sort()).toEqual([
      'checkout:false',
      'payments:false',
      'postgres.db:true',
    ]);
    const db = map.edges.find((e) => e.target === 'postgres.db');
    expect(db).toMatchObject({ source: { workload: 'checkout' }, protocol: 'postgres' });
    expect(db?.requestRate).toBeCloseTo(2.2, 2);
    expect(db?.errorRate).toBeCloseTo(0.2 / 2.2, 3);
    expectQuantiles(db!);
    expect(map.edges.find((e) => e.target === 'payments')?.errorRate).toBe(0);
  });

  it('refuses label values that are not names (no PromQL injection)', async () => {
    await expect(
      router.serve('services.list', { ...range, namespace: 'shop"} or vector(1) #' }, ctx()),
    ).rejects.toThrow(/label value/);
  });
});
