import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  AggregationType,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChdbStore } from '../clickhouse/chdbStore.ts';
import { MetricsIngester } from '../ingester/ingester.ts';
import { VictoriaMetricsProcess } from '../testing/victoriaMetrics.ts';
import type { OtlpCollector } from './collector.ts';
import { openTestStore, startCollector } from './collectorTestKit.ts';

// Exponential histograms from the real OpenTelemetry JS SDK (OTLP/protobuf exporter, cumulative and delta
// temporality, with the ingest token) -> collector -> metrics-ingester -> VictoriaMetrics; PromQL's
// histogram_quantile() over the converted `_bucket{le}` series answers within the grid's error.
const TOKEN = 'metrics-test-token';
const tmp = mkdtempSync(join(tmpdir(), 'understory-otlp-metrics-'));
const vm = new VictoriaMetricsProcess();
let db: { store: ChdbStore; close: () => Promise<void> };
let ingester: MetricsIngester;
let collector: OtlpCollector;

beforeAll(async () => {
  await vm.start();
  db = await openTestStore();
  ingester = new MetricsIngester({
    host: '127.0.0.1',
    port: 0,
    vmUrl: vm.url,
    queueDir: join(tmp, 'queue'),
    reportIntervalMs: 3_600_000, // flushed by hand
    registry: new Registry(),
  });
  await ingester.start();
  collector = await startCollector({ store: db.store, metrics: ingester, token: TOKEN });
}, 60_000);

afterAll(async () => {
  await collector?.shutdown();
  await ingester?.shutdown(0);
  await db?.close();
  await vm.close();
  rmSync(tmp, { recursive: true, force: true });
});

function provider(name: string, temporality: AggregationTemporality) {
  const exporter = new OTLPMetricExporter({
    url: `http://127.0.0.1:${collector.port}/v1/metrics`,
    headers: { Authorization: `Bearer ${TOKEN}` },
    temporalityPreference: temporality === AggregationTemporality.DELTA ? 1 : 0,
  });
  const meters = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'shop', 'service.instance.id': `pod-${name}` }),
    views: [{ instrumentName: name, aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
    readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })],
  });
  return { meters, histogram: meters.getMeter('test').createHistogram(name, { unit: 'ms' }) };
}

async function promql(expr: string): Promise<number> {
  const [r] = await vm.query(expr);
  if (!r) throw new Error(`no answer for ${expr}`);
  return Number(r.value[1]);
}

describe('OTLP exponential histograms from the OpenTelemetry JS SDK', () => {
  it.each([
    ['cumulative', AggregationTemporality.CUMULATIVE],
    ['delta', AggregationTemporality.DELTA],
  ] as const)('%s: counts, sums and quantiles read back from VictoriaMetrics', async (kind, temporality) => {
    const name = `checkout_${kind}_duration`;
    const { meters, histogram } = provider(name, temporality);
    try {
      // Two exports: the second holds only new values when delta, everything when cumulative.
      for (let v = 1; v <= 600; v++) histogram.record(v, { route: '/cart' });
      await meters.forceFlush();
      for (let v = 601; v <= 1000; v++) histogram.record(v, { route: '/cart' });
      await meters.forceFlush();
      ingester.flush(Date.now() - 60_000); // in the past: VictoriaMetrics shows the latest seconds late
      for (let i = 0; i < 100 && ingester.queued > 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(ingester.queued).toBe(0);
      await vm.flush();
      const sel = `{route="/cart",job="shop"}`;
      expect(await promql(`${name}_count${sel}`)).toBe(1000);
      expect(await promql(`${name}_sum${sel}`)).toBe(500_500);
      const p50 = await promql(`histogram_quantile(0.5, ${name}_bucket${sel})`);
      const p99 = await promql(`histogram_quantile(0.99, ${name}_bucket${sel})`);
      // At scale 2 a bucket spans a factor 2^(1/4) (19%): the interpolated quantile is well within that.
      expect(Math.abs(p50 / 500 - 1)).toBeLessThan(0.1);
      expect(Math.abs(p99 / 990 - 1)).toBeLessThan(0.1);
      const les = (await vm.query(`count by (le) (${name}_bucket)`)).map((r) => r.metric.le);
      expect(les.length).toBeGreaterThan(10);
      expect(les.length).toBeLessThan(60);
    } finally {
      await meters.shutdown();
    }
  });
});
