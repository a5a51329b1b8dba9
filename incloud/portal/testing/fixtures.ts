import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChdbStore } from '../../clickhouse/chdbStore.ts';
import { migrate } from '../../clickhouse/migrations.ts';
import { logRows, spanRows } from '../../collector/otlpRows.ts';
import { decodeJson } from '../../collector/otlpSchema.ts';

/**
 * Rows for the portal's ClickHouse tests: the official OTLP/JSON examples (../shared/testdata/otlp/examples,
 * converted by the collector's own code, incloud/collector, timestamps moved into the test window)
 * plus generated rows with known counts, so every expected answer is computed from the fixture itself.
 */
export const OTLP_EXAMPLES = resolve(
  fileURLToPath(new URL('../../../', import.meta.url)),
  '../shared/testdata/otlp/examples',
);

type Row = Record<string, unknown>;

/** Nanoseconds since the epoch as the `YYYY-MM-DD hh:mm:ss.nnnnnnnnn` text DateTime64(9) accepts (UTC). */
export function dt64(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}.${frac}`;
}

const msToNs = (ms: number) => BigInt(ms) * 1_000_000n;

export interface Fixture {
  baseMs: number;
  logs: Row[];
  spans: Row[];
  events: Row[];
  /** The trace with a root and two children (one failed, with headers and body). */
  traceId: string;
}

export function buildFixture(baseMs: number): Fixture {
  const logs: Row[] = [];
  const spans: Row[] = [];
  // The OTLP example log record and span through the collector's own OTLP/JSON -> row conversion, moved to
  // baseMs + 1 s (their own times are in 2018).
  const exampleLogs = JSON.parse(readFileSync(join(OTLP_EXAMPLES, 'logs.json'), 'utf8'));
  for (const rl of exampleLogs.resourceLogs)
    for (const sl of rl.scopeLogs)
      for (const lr of sl.logRecords) lr.timeUnixNano = String(msToNs(baseMs + 1000));
  logs.push(...logRows(decodeJson('logs', Buffer.from(JSON.stringify(exampleLogs)))));
  const exampleTrace = JSON.parse(readFileSync(join(OTLP_EXAMPLES, 'trace.json'), 'utf8'));
  for (const rs of exampleTrace.resourceSpans)
    for (const ss of rs.scopeSpans)
      for (const sp of ss.spans) {
        const duration = BigInt(sp.endTimeUnixNano) - BigInt(sp.startTimeUnixNano);
        sp.startTimeUnixNano = String(msToNs(baseMs + 1000));
        sp.endTimeUnixNano = String(msToNs(baseMs + 1000) + duration);
      }
  spans.push(...spanRows(decodeJson('traces', Buffer.from(JSON.stringify(exampleTrace)))));

  // 600 generated log lines over 60 minutes: 10 per minute, three services, severities in turn.
  const services = ['checkout', 'payments', 'inventory'];
  const severities = ['INFO', 'WARN', 'ERROR'];
  for (let i = 0; i < 600; i++) {
    const service = services[i % 3]!;
    logs.push({
      Timestamp: dt64(msToNs(baseMs + 2000 + i * 6000)),
      ServiceName: service,
      SeverityText: severities[Math.floor(i / 3) % 3]!,
      Body:
        i % 10 === 0
          ? `connection refused to db:5432 (attempt ${i})`
          : `GET /api/orders/${i} 200 in ${i % 97} ms`,
      ResourceAttributes: { 'k8s.namespace.name': 'shop', 'k8s.pod.name': `${service}-${i % 2}` },
      LogAttributes: i % 4 === 0 ? { 'http.method': 'POST', user_id: String(i) } : { 'http.method': 'GET' },
    });
  }
  // Text that would break a query built by concatenation.
  logs.push({
    Timestamp: dt64(msToNs(baseMs + 3000)),
    ServiceName: "o'brien",
    SeverityText: 'ERROR',
    Body: "x'); DROP TABLE otel_logs; -- \\ {p0:String}",
    LogAttributes: { "we'ird": '1' },
  });

  // A trace: checkout (server) -> payments (client call, failed) and a DB call.
  const traceId = 'a1'.repeat(16);
  const root = 'b1'.repeat(8);
  const t = (ms: number) => dt64(msToNs(baseMs + 10 * 60_000 + ms));
  spans.push(
    {
      Timestamp: t(0),
      TraceId: traceId,
      SpanId: root,
      SpanName: 'GET /api/orders/{id}',
      SpanKind: 'SPAN_KIND_SERVER',
      ServiceName: 'checkout',
      SpanAttributes: {
        'http.route': '/api/orders/{id}',
        'http.request.header.content-type': 'application/json',
      },
      Duration: String(250_000_000),
      StatusCode: 'STATUS_CODE_ERROR',
    },
    {
      Timestamp: t(10),
      TraceId: traceId,
      SpanId: 'c1'.repeat(8),
      ParentSpanId: root,
      SpanName: 'POST /charge',
      SpanKind: 'SPAN_KIND_CLIENT',
      ServiceName: 'checkout',
      SpanAttributes: {
        'http.request.header.authorization': '[REDACTED]',
        'http.request.body': '{"amount":12}',
        'http.response.body': '{"error":"card declined"}',
        'http.response.status_code': '502',
      },
      Duration: String(200_000_000),
      StatusCode: 'Error',
      StatusMessage: 'card declined',
      'Events.Timestamp': [t(15)],
      'Events.Name': ['retry'],
      'Events.Attributes': [{ attempt: '2' }],
    },
    {
      Timestamp: t(220),
      TraceId: traceId,
      SpanId: 'd1'.repeat(8),
      ParentSpanId: root,
      SpanName: 'SELECT orders',
      SpanKind: 'SPAN_KIND_CLIENT',
      ServiceName: 'checkout',
      Duration: String(5_000_000),
      StatusCode: 'STATUS_CODE_OK',
    },
  );
  // 100 more single-span traces, durations 1..100 ms, every tenth an error.
  for (let i = 1; i <= 100; i++) {
    spans.push({
      Timestamp: dt64(msToNs(baseMs + 20 * 60_000 + i * 1000)),
      TraceId: i.toString(16).padStart(32, '0'),
      SpanId: i.toString(16).padStart(16, '0'),
      SpanName: i % 2 ? 'GET /health' : 'GET /api/cart',
      SpanKind: 'SPAN_KIND_SERVER',
      ServiceName: i % 2 ? 'inventory' : 'payments',
      Duration: String(i * 1_000_000),
      StatusCode: i % 10 === 0 ? 'STATUS_CODE_ERROR' : 'STATUS_CODE_UNSET',
    });
  }

  const events: Row[] = [0, 1, 2, 3].map((i) => ({
    Uid: `uid-${i}`,
    Namespace: i < 3 ? 'shop' : 'kube-system',
    Name: `ev-${i}`,
    Type: i === 1 ? 'Warning' : 'Normal',
    Reason: i === 1 ? 'BackOff' : 'Started',
    Message: i === 1 ? 'Back-off restarting failed container' : 'Started container',
    Count: 1,
    FirstTimestamp: dt64(msToNs(baseMs + i * 60_000)),
    LastTimestamp: dt64(msToNs(baseMs + i * 60_000)),
    InvolvedObjectKind: 'Pod',
    InvolvedObjectNamespace: i < 3 ? 'shop' : 'kube-system',
    InvolvedObjectName: `checkout-${i}`,
  }));
  // A newer version of event 1 (the API server bumps Count): FINAL keeps only this one.
  events.push({ ...events[1], Count: 5, LastTimestamp: dt64(msToNs(baseMs + 5 * 60_000)) });
  return { baseMs, logs, spans, events, traceId };
}

/** A chdb store in a temp dir with the project's migrations and the fixture rows. */
export async function openFixtureStore(baseMs: number) {
  const dir = mkdtempSync(join(tmpdir(), 'understory-portal-'));
  const store = new ChdbStore(join(dir, 'ch'));
  store.open();
  await migrate(store);
  const fixture = buildFixture(baseMs);
  await store.insert('otel_logs', fixture.logs);
  await store.insert('otel_traces', fixture.spans);
  await store.insert('k8s_events', fixture.events);
  return {
    store,
    fixture,
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
