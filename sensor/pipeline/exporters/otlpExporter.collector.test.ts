import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChdbStore } from '../../../incloud/clickhouse/chdbStore.ts';
import type { OtlpCollector } from '../../../incloud/collector/collector.ts';
import { openTestStore, RecordingSink, startCollector } from '../../../incloud/collector/collectorTestKit.ts';
import type { ApiCall } from '../../protocols/contract.ts';
import { Redactor } from '../redaction.ts';
import { SpanBuilder } from '../spanBuilder.ts';
import { OtlpExporter } from './otlpExporter.ts';

// Sampled calls -> span builder -> OTLP exporter -> the real collector -> rows in chdb's otel_traces.
let store: ChdbStore;
let close: () => Promise<void>;
let collector: OtlpCollector;
beforeAll(async () => {
  ({ store, close } = await openTestStore());
  collector = await startCollector({ store, metrics: new RecordingSink() });
});
afterAll(async () => {
  await collector?.shutdown();
  await close?.();
});

const now = BigInt(Date.now()) * 1_000_000n;
function call(over: Partial<ApiCall>): ApiCall {
  return {
    protocol: 'http',
    role: 'server',
    method: 'GET',
    resource: '/users/42',
    status: '200',
    error: false,
    startNs: now,
    endNs: now + 30_000_000n,
    reqBytes: 1,
    respBytes: 2,
    ...over,
  };
}

describe('spans end to end through the collector into ClickHouse', () => {
  it('stores the spans with trace links, attributes and redaction', async () => {
    const registry = new Registry();
    const exporter = new OtlpExporter({
      url: `http://127.0.0.1:${collector.port}`,
      intervalMs: 3_600_000,
      registry,
    });
    exporter.start();
    const b = new SpanBuilder({ redactor: new Redactor(), node: 'node-1' });
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    exporter.export(
      b.build(
        call({
          status: '500',
          error: true,
          reqHeaders: { traceparent: tp, authorization: 'Bearer SENTINEL1' },
        }),
        { workload: 'cart', namespace: 'shop', peer: 'web' },
        '/users/{id}',
        'error',
      ),
    );
    exporter.export(
      b.build(
        call({
          protocol: 'postgres',
          role: 'client',
          method: 'SELECT',
          resource: "SELECT * FROM t WHERE pw = 'SENTINEL2'",
          status: '',
        }),
        { workload: 'cart', namespace: 'shop', peer: 'db' },
        'SELECT * FROM t WHERE pw = ?',
        'slow',
      ),
    );
    expect(await exporter.drain(20_000)).toBe(true);
    await exporter.shutdown();
    const rows = await store.query<Record<string, unknown>>(
      "SELECT TraceId, ParentSpanId, SpanName, SpanKind, ServiceName, StatusCode, SpanAttributes, ResourceAttributes, toString(Duration) AS Dur FROM otel_traces WHERE ServiceName = 'cart' ORDER BY SpanName",
    );
    expect(rows.map((r) => [r.SpanName, r.SpanKind, r.StatusCode, r.Dur])).toEqual([
      ['GET /users/{id}', 'SPAN_KIND_SERVER', 'STATUS_CODE_ERROR', '30000000'],
      ['SELECT', 'SPAN_KIND_CLIENT', 'STATUS_CODE_UNSET', '30000000'],
    ]);
    expect(rows[0]).toMatchObject({
      TraceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      ParentSpanId: '00f067aa0ba902b7',
    });
    expect(rows[0]!.SpanAttributes).toMatchObject({
      'http.route': '/users/{id}',
      'http.response.status_code': '500',
      'http.request.header.authorization': '[REDACTED]',
    });
    expect(rows[1]!.SpanAttributes).toMatchObject({
      'db.system.name': 'postgresql',
      'db.query.text': 'SELECT * FROM t WHERE pw = ?',
    });
    expect(rows[0]!.ResourceAttributes).toMatchObject({
      'service.name': 'cart',
      'k8s.namespace.name': 'shop',
      'host.name': 'node-1',
    });
    expect(JSON.stringify(rows)).not.toMatch(/SENTINEL/);
    expect(await registry.getSingleMetricAsString('sensor_otlp_spans_sent_total')).toMatch(/ 2$/m);
  });
  it('stores messaging spans as PRODUCER/CONSUMER, in the producer trace or linked to it', async () => {
    const exporter = new OtlpExporter({ url: `http://127.0.0.1:${collector.port}`, intervalMs: 3_600_000 });
    exporter.start();
    const b = new SpanBuilder({ redactor: new Redactor(), node: 'node-1' });
    const tp = (i: number) => `00-${String(i).repeat(32)}-${String(i + 1).repeat(16)}-01`;
    const id = { workload: 'billing', namespace: 'shop', peer: 'broker' };
    const messaging = (over: Partial<ApiCall>) =>
      call({ role: 'unknown', resource: 'orders', status: 'OK', ...over });
    exporter.export(
      b.build(
        messaging({ protocol: 'nats', method: 'MSG', reqHeaders: { traceparent: tp(1) } }),
        id,
        'orders',
        'baseline',
      ),
    );
    exporter.export(
      b.build(
        messaging({
          protocol: 'kafka',
          method: 'Fetch',
          status: '0',
          links: [{ traceparent: tp(3) }, { traceparent: tp(5), tracestate: 'k=v' }],
        }),
        id,
        'orders',
        'baseline',
      ),
    );
    expect(await exporter.drain(20_000)).toBe(true);
    await exporter.shutdown();
    const rows = await store.query<Record<string, unknown>>(
      "SELECT SpanName, SpanKind, TraceId, ParentSpanId, `Links.TraceId` AS LinkTraces, `Links.SpanId` AS LinkSpans, `Links.TraceState` AS LinkStates, SpanAttributes['messaging.operation.type'] AS Op FROM otel_traces WHERE ServiceName = 'billing' ORDER BY SpanName",
    );
    expect(rows).toEqual([
      {
        SpanName: 'Fetch orders',
        SpanKind: 'SPAN_KIND_CLIENT',
        TraceId: expect.not.stringMatching(/^(3+|5+)$/),
        ParentSpanId: '',
        LinkTraces: ['3'.repeat(32), '5'.repeat(32)],
        LinkSpans: ['4'.repeat(16), '6'.repeat(16)],
        LinkStates: ['', 'k=v'],
        Op: 'receive',
      },
      {
        SpanName: 'MSG orders',
        SpanKind: 'SPAN_KIND_CONSUMER',
        TraceId: '1'.repeat(32),
        ParentSpanId: '2'.repeat(16),
        LinkTraces: [],
        LinkSpans: [],
        LinkStates: [],
        Op: 'process',
      },
    ]);
  });
});
