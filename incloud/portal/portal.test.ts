import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CHUNK_BYTES, QUERY_KINDS } from '../../lib/tunnel/index.ts';
import { VictoriaMetricsProcess } from '../testing/victoriaMetrics.ts';
import { defaultLimits } from './limits.ts';
import { Portal } from './portal.ts';
import { FakeEdge } from './testing/fakeEdge.ts';
import { openFixtureStore } from './testing/fixtures.ts';
import { importRedData } from './testing/redData.ts';

/** The whole portal component: real chdb rows, a real VictoriaMetrics, a real WebSocket server as the edge. */
const TOKEN = 'ust_cit_portal-test';
const base = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
let vm: VictoriaMetricsProcess;
let ch: Awaited<ReturnType<typeof openFixtureStore>>;
let edge: FakeEdge;
let portal: Portal;

beforeAll(async () => {
  vm = new VictoriaMetricsProcess();
  [ch] = await Promise.all([openFixtureStore(base), vm.start()]);
  await importRedData(vm.url, base + 3_600_000);
  await vm.flush();
  edge = new FakeEdge(TOKEN);
  await edge.start();
  portal = new Portal({
    edgeUrl: edge.url,
    installToken: TOKEN,
    replicaId: 'portal-0',
    victoriaMetricsUrl: vm.url,
    clickhouse: ch.store,
    limits: { ...defaultLimits(), maxInFlight: 8 },
  });
  await portal.start();
  await edge.waitForHellos(1);
});
afterAll(async () => {
  await portal?.shutdown();
  await edge?.stop();
  await ch?.close();
  await vm?.close();
});

describe('portal component', () => {
  it('advertises every query kind it can serve and reports healthy while the tunnel is open', async () => {
    expect([...(edge.hellos[0]?.capabilities ?? [])].sort()).toEqual([...QUERY_KINDS].sort());
    // Healthy once the edge has acknowledged the hello (the pong to READY_PING_TEXT), a moment after it.
    await expect
      .poll(() => portal.health(), { timeout: 5000 })
      .toMatchObject({ ok: true, detail: expect.stringContaining('tunnel open') });
  });

  it('answers a PromQL query through the tunnel exactly as VictoriaMetrics answers it', async () => {
    const args: [string, string][] = [
      ['query', 'sum by (workload) (rate(http_server_request_duration_seconds_count[10m]))'],
      ['time', String((base + 3_600_000) / 1000)],
    ];
    const direct = await (await fetch(`${vm.url}/api/v1/query?${new URLSearchParams(args)}`)).json();
    const a = await edge.request('prom', { path: '/api/v1/query', method: 'GET', args });
    expect(a.head.status).toBe(200);
    expect(JSON.parse(a.body.toString()).data).toEqual((direct as { data: unknown }).data);
  });

  it('streams a large PromQL range result complete, in chunks, identical to VictoriaMetrics', async () => {
    const args: [string, string][] = [
      ['query', '{__name__=~".+"}'],
      ['start', String(base / 1000)],
      ['end', String((base + 3_600_000) / 1000)],
      ['step', '1'],
    ];
    const direct = Buffer.from(
      await (await fetch(`${vm.url}/api/v1/query_range?${new URLSearchParams(args)}`)).arrayBuffer(),
    );
    const a = await edge.request('prom', { path: '/api/v1/query_range', method: 'POST', args });
    expect(direct.length).toBeGreaterThan(2 * MAX_CHUNK_BYTES);
    expect(a.chunkSizes.length).toBeGreaterThan(2);
    expect(Math.max(...a.chunkSizes)).toBeLessThanOrEqual(MAX_CHUNK_BYTES);
    expect(JSON.parse(a.body.toString()).data).toEqual(JSON.parse(direct.toString()).data);
  });

  it('serves logs, traces, events and RED queries concurrently through one tunnel', async () => {
    const range = { start: base, end: base + 3_660_000 };
    const answers = await Promise.all([
      edge.request('logs.search', { ...range, query: 'service:checkout refused', limit: 1000 }),
      edge.request('traces.get', { traceId: ch.fixture.traceId }),
      edge.request('events.list', range),
      edge.request('services.list', { start: base, end: base + 3_600_000 }),
      edge.request('services.map', { start: base, end: base + 3_600_000 }),
    ]);
    const [logs, trace, events, services, map] = answers.map((a) => JSON.parse(a.body.toString()));
    expect(logs.total).toBe(
      ch.fixture.logs.filter((l) => l.ServiceName === 'checkout' && /refused/.test(String(l.Body))).length,
    );
    expect(trace.spans).toHaveLength(3);
    expect(events.events.length).toBeGreaterThan(0);
    expect(services.services.map((s: { workload: string }) => s.workload)).toEqual(['checkout', 'payments']);
    expect(map.edges.length).toBe(2);
  });

  it('a whole search result (every fixture row) arrives complete', async () => {
    const a = await edge.request('logs.search', { start: base, end: base + 3_660_000, limit: 1000 });
    const body = JSON.parse(a.body.toString());
    expect(body.rows).toHaveLength(ch.fixture.logs.length);
    expect(Math.max(...a.chunkSizes)).toBeLessThanOrEqual(MAX_CHUNK_BYTES);
  });

  it('answers bad input with clear per-request errors', async () => {
    await expect(
      edge.request('logs.search', { start: base, end: base + 1000, query: 'nosuch:field' }),
    ).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringContaining('unknown field'),
    });
    await expect(edge.request('prom', { path: '/api/v1/import', method: 'POST' })).rejects.toMatchObject({
      code: 'bad_request',
    });
  });

  it('reports the tunnel down in health, with the reason', async () => {
    const other = new Portal({
      edgeUrl: 'http://127.0.0.1:9',
      installToken: TOKEN,
      victoriaMetricsUrl: vm.url,
      backoff: { initialMs: 5000, maxMs: 5000, stableMs: 5000 },
    });
    await other.start();
    await expect.poll(() => other.tunnel.state).toBe('waiting');
    const h = await other.health();
    expect(h.ok).toBe(false);
    expect(h.detail).toMatch(/tunnel waiting: .*ECONNREFUSED/);
    await other.shutdown();
    await other.shutdown(); // safe twice
  });

  it('refuses a configuration with nothing to answer from', () => {
    expect(() => new Portal({ edgeUrl: edge.url, installToken: TOKEN })).toThrow(
      /VictoriaMetrics, ClickHouse/,
    );
    expect(() => new Portal({ edgeUrl: 'ftp://x', installToken: TOKEN, victoriaMetricsUrl: vm.url })).toThrow(
      /edge URL/,
    );
  });
});
