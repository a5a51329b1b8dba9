import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChdbStore } from '../clickhouse/chdbStore.ts';
import type { OtlpCollector } from './collector.ts';
import { openTestStore, RecordingSink, startCollector } from './collectorTestKit.ts';

// The official OTLP/JSON examples (opentelemetry-proto) sent as JSON and, re-encoded, as protobuf; expected
// rows are written out here by hand from the example files. Then bad input on every endpoint.
const EXAMPLES = '/work/shared/testdata/otlp/examples';
const example = (name: string) => readFileSync(`${EXAMPLES}/${name}`);
const root = protobuf.loadSync(fileURLToPath(new URL('./otlp.proto', import.meta.url)));

/** OTLP/JSON -> protobuf: ids are hex in JSON and bytes in protobuf; the rest maps one to one. */
function jsonToProtobuf(type: string, json: Buffer): Buffer {
  const obj = JSON.parse(json.toString(), (key, value) =>
    ['traceId', 'spanId', 'parentSpanId'].includes(key) ? Buffer.from(value, 'hex') : value,
  );
  const t = root.lookupType(type);
  return Buffer.from(t.encode(t.fromObject(obj)).finish());
}

const EXAMPLE_LOG = {
  TsNs: '1544712660300000000',
  TraceId: '5b8efff798038103d269b633813fc60c',
  SpanId: 'eee19b7ec3c1b174',
  TraceFlags: 0,
  SeverityText: 'Information',
  SeverityNumber: 10,
  ServiceName: 'my.service',
  Body: 'Example log record',
  ResourceAttributes: { 'service.name': 'my.service' },
  ScopeName: 'my.library',
  ScopeVersion: '1.0.0',
  ScopeAttributes: { 'my.scope.attribute': 'some scope attribute' },
  LogAttributes: {
    'string.attribute': 'some string',
    'boolean.attribute': 'true',
    'int.attribute': '10',
    'double.attribute': '637.704',
    'array.attribute': '["many","values"]',
    'map.attribute': '{"some.map.key":"some value"}',
  },
  EventName: '',
};
const EXAMPLE_EVENT = {
  EventName: 'browser.page_view',
  SeverityNumber: 9,
  SeverityText: 'test severity text',
  Body: '{"referrer":"https://wwww.google.com","title":"Free Online GUID Generator","type":0,"url":"https://www.guidgenerator.com/online-guid-generator.aspx"}',
  LogAttributes: { 'event.attribute': 'some event attribute' },
};
const EXAMPLE_SPAN = {
  TsNs: '1544712660000000000',
  TraceId: '5b8efff798038103d269b633813fc60c',
  SpanId: 'eee19b7ec3c1b174',
  ParentSpanId: 'eee19b7ec3c1b173',
  TraceState: '',
  SpanName: "I'm a server span",
  SpanKind: 'SPAN_KIND_SERVER',
  ServiceName: 'my.service',
  ResourceAttributes: { 'service.name': 'my.service' },
  ScopeName: 'my.library',
  ScopeVersion: '1.0.0',
  SpanAttributes: { 'my.span.attr': 'some value' },
  Dur: '1000000000',
  StatusCode: 'STATUS_CODE_UNSET',
  StatusMessage: '',
  'Events.Name': [],
  'Links.TraceId': [],
};

describe('collector: official OTLP examples and bad input', () => {
  let store: ChdbStore;
  let close: () => Promise<void>;
  let collector: OtlpCollector;
  let sink: RecordingSink;
  let url = '';
  beforeAll(async () => {
    ({ store, close } = await openTestStore());
    sink = new RecordingSink();
    collector = await startCollector({
      store,
      metrics: sink,
      maxBodyBytes: 64 << 10,
      maxDecodedBytes: 256 << 10,
    });
    url = `http://127.0.0.1:${collector.port}`;
  });
  afterAll(async () => {
    await collector?.shutdown();
    await close?.();
  });

  const post = (path: string, body: Buffer, type = 'application/json', encoding?: string) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': type, ...(encoding ? { 'content-encoding': encoding } : {}) },
      body,
    });
  const logs = () =>
    store.query<Record<string, unknown>>(
      'SELECT *, toString(toUnixTimestamp64Nano(Timestamp)) AS TsNs FROM otel_logs ORDER BY EventName',
    );
  const spans = () =>
    store.query<Record<string, unknown>>(
      'SELECT *, toString(toUnixTimestamp64Nano(Timestamp)) AS TsNs, toString(Duration) AS Dur FROM otel_traces',
    );

  for (const variant of ['json', 'json+gzip', 'protobuf'] as const) {
    it(`stores logs.json, events.json and trace.json sent as ${variant}`, async () => {
      await store.exec('TRUNCATE TABLE otel_logs');
      await store.exec('TRUNCATE TABLE otel_traces');
      const send = async (path: string, file: string, type: string) => {
        // A trailing space makes the gzip variant's bytes differ from the plain one: identical bytes would be
        // recognised as a retry of the earlier test's request and (rightly) not stored again.
        const json =
          variant === 'json+gzip' ? Buffer.concat([example(file), Buffer.from(' ')]) : example(file);
        const res =
          variant === 'json'
            ? await post(path, json)
            : variant === 'json+gzip'
              ? await post(path, gzipSync(json), 'application/json', 'gzip')
              : await post(path, jsonToProtobuf(type, json), 'application/x-protobuf');
        expect(res.status, await res.clone().text()).toBe(200);
      };
      await send('/v1/logs', 'logs.json', 'otlp.ExportLogsServiceRequest');
      await send('/v1/logs', 'events.json', 'otlp.ExportLogsServiceRequest');
      await send('/v1/traces', 'trace.json', 'otlp.ExportTraceServiceRequest');
      const [log, event] = await logs();
      expect(log).toMatchObject(EXAMPLE_LOG);
      expect(event).toMatchObject(EXAMPLE_EVENT);
      expect(await spans()).toMatchObject([EXAMPLE_SPAN]);
    });
  }

  it('forwards metrics.json to the ingester as Prometheus series (delta -> cumulative)', async () => {
    const res = await post('/v1/metrics', example('metrics.json'));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({}); // every point accepted, the exponential histogram included
    const flat = Object.fromEntries(
      sink.series.map((s) => [JSON.stringify(s.labels), [s.samples[0]?.value, s.samples[0]?.timestampMs]]),
    );
    const t = 1544712660300;
    expect(flat).toEqual({
      [JSON.stringify({ __name__: 'my_counter_total', job: 'my.service', my_counter_attr: 'some value' })]: [
        5,
        t,
      ],
      [JSON.stringify({ __name__: 'my_gauge', job: 'my.service', my_gauge_attr: 'some value' })]: [10, t],
      [JSON.stringify({
        __name__: 'my_histogram_bucket',
        job: 'my.service',
        my_histogram_attr: 'some value',
        le: '1',
      })]: [1, t],
      [JSON.stringify({
        __name__: 'my_histogram_bucket',
        job: 'my.service',
        my_histogram_attr: 'some value',
        le: '+Inf',
      })]: [2, t],
      [JSON.stringify({ __name__: 'my_histogram_sum', job: 'my.service', my_histogram_attr: 'some value' })]:
        [2, t],
      [JSON.stringify({
        __name__: 'my_histogram_count',
        job: 'my.service',
        my_histogram_attr: 'some value',
      })]: [2, t],
      // scale 0, zeroCount 1, positive offset 1 counts [0, 2]: two values in (4, 8] -> le 8.
      ...Object.fromEntries(
        [
          ['0', 1],
          ['8', 3],
          ['+Inf', 3],
        ].map(([le, n]) => [
          JSON.stringify({
            __name__: 'my_exponential_histogram_bucket',
            job: 'my.service',
            my_exponential_histogram_attr: 'some value',
            le,
          }),
          [n, t],
        ]),
      ),
      [JSON.stringify({
        __name__: 'my_exponential_histogram_sum',
        job: 'my.service',
        my_exponential_histogram_attr: 'some value',
      })]: [10, t],
      [JSON.stringify({
        __name__: 'my_exponential_histogram_count',
        job: 'my.service',
        my_exponential_histogram_attr: 'some value',
      })]: [3, t],
    });
  });

  describe('bad input: clear 4xx, nothing stored', () => {
    const badSpanId = JSON.stringify({
      resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'not-hex', spanId: 'eee19b7ec3c1b174' }] }] }],
    });
    const badLog = JSON.stringify({
      resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: 'yesterday' }] }] }],
    });
    const badMetric = JSON.stringify({
      resourceMetrics: [
        { scopeMetrics: [{ metrics: [{ name: 'm', gauge: { dataPoints: [{ asDouble: 'x' }] } }] }] },
      ],
    });
    type Case = [string, string, () => Promise<Response>, number, RegExp];
    const cases: Case[] = [];
    for (const path of ['/v1/traces', '/v1/logs', '/v1/metrics']) {
      cases.push(
        [
          path,
          'bad protobuf',
          () => post(path, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]), 'application/x-protobuf'),
          400,
          /cannot decode OTLP .* protobuf/,
        ],
        [path, 'bad JSON', () => post(path, Buffer.from('{"resource')), 400, /cannot decode OTLP .* JSON/],
        [path, 'JSON array', () => post(path, Buffer.from('[]')), 400, /not an object/],
        [
          path,
          'bad gzip',
          () => post(path, Buffer.from('not gzip'), 'application/json', 'gzip'),
          400,
          /cannot gunzip/,
        ],
        [
          path,
          'unknown encoding',
          () => post(path, Buffer.from('{}'), 'application/json', 'br'),
          415,
          /content encoding "br"/,
        ],
        [
          path,
          'text/plain',
          () => post(path, Buffer.from('{}'), 'text/plain'),
          415,
          /content type "text\/plain"/,
        ],
        [path, 'too big', () => post(path, Buffer.alloc(65 << 10, 32)), 413, /limit 65536|over 65536/],
        [
          path,
          'gzip bomb',
          () => post(path, gzipSync(Buffer.alloc(1 << 20, 32)), 'application/json', 'gzip'),
          413,
          /uncompressed/,
        ],
        [path, 'GET', () => fetch(`${url}${path}`), 405, /use POST/],
      );
    }
    cases.push(
      ['/v1/traces', 'bad trace id', () => post('/v1/traces', Buffer.from(badSpanId)), 400, /span\.traceId/],
      [
        '/v1/logs',
        'bad timestamp',
        () => post('/v1/logs', Buffer.from(badLog)),
        400,
        /logRecord\.timeUnixNano/,
      ],
      ['/v1/metrics', 'bad value', () => post('/v1/metrics', Buffer.from(badMetric)), 400, /asDouble/],
      ['/v1/profiles', 'unknown path', () => post('/v1/profiles', Buffer.from('{}')), 404, /cannot route/],
    );
    it.each(cases.map(([path, what, send, status, message]) => ({ path, what, send, status, message })))(
      '$path $what -> $status',
      async ({ send, status, message }) => {
        const before = {
          logs: (await logs()).length,
          spans: (await spans()).length,
          series: sink.series.length,
        };
        const res = await send();
        expect(res.status).toBe(status);
        const body = await res.text();
        if (res.headers.get('content-type') === 'application/json')
          expect(JSON.parse(body).message).toMatch(message);
        else expect(body).toMatch(message); // protobuf google.rpc.Status: the message is a plain UTF-8 field
        expect({
          logs: (await logs()).length,
          spans: (await spans()).length,
          series: sink.series.length,
        }).toEqual(before);
      },
    );
  });

  it('stores a re-sent identical request once and counts it as a duplicate', async () => {
    const body = Buffer.from(
      JSON.stringify({
        resourceLogs: [
          {
            scopeLogs: [
              { logRecords: [{ timeUnixNano: String(Date.now() * 1e6), body: { stringValue: 'once' } }] },
            ],
          },
        ],
      }),
    );
    for (let i = 0; i < 3; i++) expect((await post('/v1/logs', body)).status).toBe(200);
    const rows = await store.query<{ n: string }>("SELECT count() AS n FROM otel_logs WHERE Body = 'once'");
    expect(Number(rows[0]?.n)).toBe(1);
    expect(await collector.metricsText()).toMatch(/collector_duplicate_requests_total\{signal="logs"\} 2/);
  });
});
