import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as HttpLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter as HttpTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChdbStore } from '../clickhouse/chdbStore.ts';
import type { OtlpCollector } from './collector.ts';
import { FaultyStore, openTestStore, RecordingSink, startCollector } from './collectorTestKit.ts';

// The real OpenTelemetry JS SDK exporters (protobuf and JSON, gzip) send to the collector; the rows read back
// from chdb are compared field by field with what the SDK itself recorded (an in-memory exporter beside).
const nanos = (t: [number, number]) => (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();

describe('collector with the OpenTelemetry JS SDK exporters', () => {
  let store: ChdbStore;
  let faulty: FaultyStore;
  let close: () => Promise<void>;
  let collector: OtlpCollector;
  let base = '';
  beforeAll(async () => {
    ({ store, close } = await openTestStore());
    faulty = new FaultyStore(store);
    collector = await startCollector({ store: faulty, metrics: new RecordingSink() });
    base = `http://127.0.0.1:${collector.port}`;
  });
  afterAll(async () => {
    await collector?.shutdown();
    await close?.();
  });

  async function sendSpans(
    exporter: ProtoTraceExporter | HttpTraceExporter,
    service: string,
  ): Promise<ReadableSpan[]> {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': service, 'deployment.environment': 'test' }),
      spanProcessors: [new SimpleSpanProcessor(exporter), new SimpleSpanProcessor(memory)],
    });
    const tracer = provider.getTracer('understory-test', '1.2.3');
    const parent = tracer.startSpan('GET /cart', {
      kind: SpanKind.SERVER,
      attributes: {
        'http.method': 'GET',
        'http.status_code': 500,
        retry: true,
        ratio: 0.25,
        tags: ['a', 'b'],
      },
    });
    parent.addEvent('cache miss', { key: 'cart:1' });
    parent.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream failed' });
    const child = tracer.startSpan('SELECT carts', {
      kind: SpanKind.CLIENT,
      links: [{ context: parent.spanContext(), attributes: { why: 'follows' } }],
    });
    child.end();
    parent.end();
    await provider.forceFlush();
    await provider.shutdown();
    return memory.getFinishedSpans();
  }

  async function rowsOf(service: string) {
    return store.query<Record<string, unknown>>(
      `SELECT *, toString(toUnixTimestamp64Nano(Timestamp)) AS TsNs, toString(Duration) AS Dur
       FROM otel_traces WHERE ServiceName = {s:String} ORDER BY SpanName`,
      { s: service },
    );
  }

  for (const [kind, make] of [
    ['protobuf+gzip', (url: string) => new ProtoTraceExporter({ url, compression: 'gzip' as never })],
    ['json', (url: string) => new HttpTraceExporter({ url })],
  ] as const) {
    it(`stores spans sent as ${kind} field by field`, async () => {
      const service = `checkout-${kind}`;
      const spans = await sendSpans(make(`${base}/v1/traces`), service);
      const rows = await rowsOf(service);
      expect(rows).toHaveLength(2);
      const byName = new Map(rows.map((r) => [r.SpanName, r]));
      for (const s of spans) {
        const r = byName.get(s.name)!;
        expect(r.TraceId).toBe(s.spanContext().traceId);
        expect(r.SpanId).toBe(s.spanContext().spanId);
        expect(r.ParentSpanId).toBe(s.parentSpanContext?.spanId ?? '');
        expect(r.TsNs).toBe(nanos(s.startTime));
        expect(r.Dur).toBe(nanos(s.duration));
        expect(r.ServiceName).toBe(service);
        expect(r.ScopeName).toBe('understory-test');
        expect(r.ScopeVersion).toBe('1.2.3');
        expect(r.ResourceAttributes).toMatchObject({
          'service.name': service,
          'deployment.environment': 'test',
          'telemetry.sdk.language': 'nodejs',
        });
      }
      const parent = byName.get('GET /cart')!;
      expect(parent.SpanKind).toBe('SPAN_KIND_SERVER');
      expect(parent.StatusCode).toBe('STATUS_CODE_ERROR');
      expect(parent.StatusMessage).toBe('upstream failed');
      expect(parent.SpanAttributes).toEqual({
        'http.method': 'GET',
        'http.status_code': '500',
        retry: 'true',
        ratio: '0.25',
        tags: '["a","b"]',
      });
      expect(parent['Events.Name']).toEqual(['cache miss']);
      expect(parent['Events.Attributes']).toEqual([{ key: 'cart:1' }]);
      const child = byName.get('SELECT carts')!;
      expect(child.SpanKind).toBe('SPAN_KIND_CLIENT');
      expect(child.StatusCode).toBe('STATUS_CODE_UNSET');
      expect(child['Links.SpanId']).toEqual([parent.SpanId]);
      expect(child['Links.Attributes']).toEqual([{ why: 'follows' }]);
      const lookup = await store.query<{ n: string }>(
        'SELECT count() AS n FROM otel_traces_trace_id_ts WHERE TraceId = {t:String}',
        { t: parent.TraceId as string },
      );
      expect(Number(lookup[0]?.n)).toBeGreaterThanOrEqual(1);
    });
  }

  for (const [kind, make] of [
    ['protobuf+gzip', (url: string) => new ProtoLogExporter({ url, compression: 'gzip' as never })],
    ['json', (url: string) => new HttpLogExporter({ url })],
  ] as const) {
    it(`stores log records sent as ${kind} field by field`, async () => {
      const service = `api-${kind}`;
      const memory = new InMemoryLogRecordExporter();
      const provider = new LoggerProvider({
        resource: resourceFromAttributes({ 'service.name': service }),
        processors: [
          new SimpleLogRecordProcessor({ exporter: make(`${base}/v1/logs`) }),
          new SimpleLogRecordProcessor({ exporter: memory }),
        ],
      });
      const tracer = new BasicTracerProvider().getTracer('t');
      const span = tracer.startSpan('op');
      provider.getLogger('app-logger', '0.9.0').emit({
        severityNumber: SeverityNumber.WARN,
        severityText: 'WARN',
        body: 'disk almost full',
        attributes: { 'disk.free_bytes': 1024, mount: '/data' },
        timestamp: new Date('2026-11-25T10:00:00.123Z'),
        context: trace.setSpan(context.active(), span),
      });
      provider.getLogger('app-logger', '0.9.0').emit({ body: { structured: true, n: 3 } });
      await provider.forceFlush();
      const records = memory.getFinishedLogRecords(); // shutdown() would clear them
      await provider.shutdown();
      expect(records).toHaveLength(2);
      const rows = await store.query<Record<string, unknown>>(
        `SELECT *, toString(toUnixTimestamp64Nano(Timestamp)) AS TsNs FROM otel_logs
         WHERE ServiceName = {s:String} ORDER BY SeverityNumber DESC`,
        { s: service },
      );
      expect(rows).toHaveLength(2);
      const [warn, structured] = rows as [Record<string, unknown>, Record<string, unknown>];
      expect(warn).toMatchObject({
        Body: 'disk almost full',
        SeverityText: 'WARN',
        SeverityNumber: SeverityNumber.WARN,
        TsNs: nanos(records[0]!.hrTime),
        TraceId: span.spanContext().traceId,
        SpanId: span.spanContext().spanId,
        TraceFlags: span.spanContext().traceFlags,
        ScopeName: 'app-logger',
        ScopeVersion: '0.9.0',
        LogAttributes: { 'disk.free_bytes': '1024', mount: '/data' },
      });
      // No timestamp given: the exporter's rule is "observed time instead".
      expect(structured.TsNs).toBe(nanos(records[1]!.hrTimeObserved));
      expect(JSON.parse(structured.Body as string)).toEqual({ structured: true, n: 3 });
      expect(structured.TraceId).toBe('');
    });
  }

  it('answers 503 with Retry-After when the store fails, and the SDK retry lands exactly once', async () => {
    faulty.failNext = 1; // the first insert is written, then reported failed: the worst case for duplicates
    const service = 'retry-once';
    await sendSpans(new ProtoTraceExporter({ url: `${base}/v1/traces` }), service);
    expect(faulty.failNext).toBe(0);
    const rows = await rowsOf(service);
    expect(rows.map((r) => r.SpanName)).toEqual(['GET /cart', 'SELECT carts']);
    const metrics = await collector.metricsText();
    expect(metrics).toMatch(/collector_requests_total\{signal="traces",status="503"\} [1-9]/);
  });

  it('answers 429 with Retry-After when too many requests wait for a slow store', async () => {
    const slow = await startCollector({
      store: faulty,
      metrics: new RecordingSink(),
      maxInFlight: 1,
      maxQueued: 1,
    });
    faulty.holding = true;
    try {
      const post = () =>
        fetch(`http://127.0.0.1:${slow.port}/v1/logs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            resourceLogs: [
              {
                scopeLogs: [
                  {
                    logRecords: [
                      { timeUnixNano: String(Date.now() * 1e6), body: { stringValue: `x${Math.random()}` } },
                    ],
                  },
                ],
              },
            ],
          }),
        });
      const first = post();
      const second = post();
      await new Promise((r) => setTimeout(r, 300));
      const third = await post();
      expect(third.status).toBe(429);
      expect(third.headers.get('retry-after')).toBe('1');
      faulty.release();
      expect((await first).status).toBe(200);
      expect((await second).status).toBe(200);
    } finally {
      faulty.release();
      await slow.shutdown();
    }
  });
});
