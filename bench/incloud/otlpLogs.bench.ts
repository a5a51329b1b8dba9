/**
 * OTLP logs -> ClickHouse: records per CPU-second through the collector (HTTP, protobuf decode, row
 * conversion, dedup digest, chdb insert) against a direct chdb insert of the same rows (baseline, same run).
 * Both run in this process; chdb's threads count in process.cpuUsage(), so "per core" = records / CPU seconds.
 * The HTTP client runs in this process too, so the collector figure carries the client's cost (conservative).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import protobuf from 'protobufjs';
import { ChdbStore } from '../../incloud/clickhouse/chdbStore.ts';
import { migrate } from '../../incloud/clickhouse/migrations.ts';
import { OtlpCollector } from '../../incloud/collector/collector.ts';
import type { MetricsSink } from '../../incloud/collector/metricsSink.ts';
import { logRows } from '../../incloud/collector/otlpRows.ts';
import { decodeProtobuf } from '../../incloud/collector/otlpSchema.ts';
import { record } from '../harness.ts';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 100);
const PER_REQUEST = Number(process.env.BENCH_RECORDS ?? 1000);
const CONCURRENCY = 4;

const root = protobuf.loadSync(fileURLToPath(new URL('../../incloud/collector/otlp.proto', import.meta.url)));
const Req = root.lookupType('otlp.ExportLogsServiceRequest');
const kv = (key: string, v: string) => ({ key, value: { stringValue: v } });

function request(i: number): Buffer {
  const base = BigInt(Date.now()) * 1_000_000n;
  const logRecords = Array.from({ length: PER_REQUEST }, (_, j) => ({
    timeUnixNano: String(base + BigInt(i * PER_REQUEST + j)),
    severityNumber: 9,
    severityText: 'INFO',
    body: { stringValue: `GET /api/cart/${j % 97} 200 ${j % 13} ms user=${j % 1000} request ${i}-${j}` },
    attributes: [
      kv('http.method', 'GET'),
      kv('http.route', '/api/cart/:id'),
      kv('k8s.pod.name', `cart-${j % 5}`),
    ],
    traceId: Buffer.alloc(16, (j % 250) + 1),
    spanId: Buffer.alloc(8, (j % 250) + 1),
  }));
  const msg = {
    resourceLogs: [
      {
        resource: { attributes: [kv('service.name', 'cart'), kv('k8s.namespace.name', 'shop')] },
        scopeLogs: [{ scope: { name: 'understory.sensor', version: '0.1.0' }, logRecords }],
      },
    ],
  };
  return Buffer.from(Req.encode(Req.fromObject(msg)).finish());
}

async function measure(fn: () => Promise<void>): Promise<{ cpuS: number; wallS: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const cpu = process.cpuUsage(cpu0);
  return { cpuS: (cpu.user + cpu.system) / 1e6, wallS: (performance.now() - t0) / 1000 };
}

async function inParallel(n: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

const dir = mkdtempSync(join(tmpdir(), 'understory-bench-otlp-'));
const store = new ChdbStore(join(dir, 'ch'));
store.open();
await migrate(store);
const bodies = Array.from({ length: REQUESTS }, (_, i) => request(i));
const rows = bodies.map((b) => logRows(decodeProtobuf('logs', b)));
const total = REQUESTS * PER_REQUEST;

// Warm both paths (chdb's first inserts build caches).
await store.insert('otel_logs', rows[0]!);
await store.exec('TRUNCATE TABLE otel_logs');

const direct = await measure(() => inParallel(REQUESTS, (i) => store.insert('otel_logs', rows[i]!)));
await store.exec('TRUNCATE TABLE otel_logs');

const noMetrics: MetricsSink = { write: async () => {} };
const collector = new OtlpCollector({
  host: '127.0.0.1',
  port: 0,
  store,
  metrics: noMetrics,
  registry: new Registry(),
});
await collector.start();
const url = `http://127.0.0.1:${collector.port}/v1/logs`;
const via = await measure(() =>
  inParallel(REQUESTS, async (i) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: bodies[i],
    });
    if (res.status !== 200) throw new Error(`collector answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  }),
);
const [stored] = await store.query<{ n: string }>('SELECT count() AS n FROM otel_logs');
if (Number(stored?.n) !== total) throw new Error(`stored ${stored?.n} of ${total} records`);
await collector.shutdown();
await store.close();
rmSync(dir, { recursive: true, force: true });

const notes = `${REQUESTS} requests x ${PER_REQUEST} records, ${CONCURRENCY} concurrent; protobuf, no gzip`;
record({
  benchmark: 'incloud-otlp-logs/collector-vs-chdb',
  metric: 'records_per_cpu_second',
  value: total / via.cpuS,
  baseline: total / direct.cpuS,
  unit: 'records/s/core',
  notes: `${notes}; baseline = direct chdb insert of the same rows; cpu ${via.cpuS.toFixed(1)} s vs ${direct.cpuS.toFixed(1)} s`,
});
record({
  benchmark: 'incloud-otlp-logs/collector-vs-chdb',
  metric: 'records_per_second',
  value: total / via.wallS,
  baseline: total / direct.wallS,
  unit: 'records/s',
  notes,
});
