import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsIngester } from '../../../incloud/ingester/ingester.ts';
import { redQueries } from '../../../incloud/portal/redQueries.ts';
import { VictoriaMetricsProcess } from '../../../incloud/testing/victoriaMetrics.ts';
import type { ApiCall } from '../../protocols/contract.ts';
import { RedAggregator } from '../redAggregator.ts';
import { ResourceTemplater } from '../resourceTemplater.ts';
import { RemoteWriteExporter } from './remoteWriteExporter.ts';

// ApiCalls -> templater -> RED aggregator -> remote-write exporter -> the real metrics-ingester -> a private
// VictoriaMetrics; PromQL (including the portal's own RED queries) reads the expected values back.
const tmp = mkdtempSync(join(tmpdir(), 'understory-rw-exporter-'));
const vm = new VictoriaMetricsProcess();
let ingester: MetricsIngester;

beforeAll(async () => {
  await vm.start();
  ingester = new MetricsIngester({
    host: '127.0.0.1',
    port: 0,
    vmUrl: vm.url,
    queueDir: join(tmp, 'queue'),
    reportIntervalMs: 3_600_000, // flushed by hand
    registry: new Registry(),
  });
  await ingester.start();
});
afterAll(async () => {
  await ingester?.shutdown();
  await vm.close();
  rmSync(tmp, { recursive: true, force: true });
});

function call(
  protocol: ApiCall['protocol'],
  role: ApiCall['role'],
  resource: string,
  ms: number,
  over: Partial<ApiCall> = {},
): ApiCall {
  return {
    protocol,
    role,
    method: 'GET',
    resource,
    status: '200',
    error: false,
    startNs: 0n,
    endNs: BigInt(Math.round(ms * 1e6)),
    reqBytes: 10,
    respBytes: 20,
    ...over,
  };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('RED metrics end to end through the ingester into VictoriaMetrics', () => {
  it('arrive with the labels and values the portal queries', async () => {
    const templater = new ResourceTemplater();
    const agg = new RedAggregator();
    const registry = new Registry();
    const exporter = new RemoteWriteExporter({
      url: `http://127.0.0.1:${ingester.port}/api/v1/write`,
      source: () => agg.snapshot({ sensor: 'node-a' }),
      intervalMs: 3_600_000,
      registry,
    });
    exporter.start();
    const cart = { workload: 'cart', namespace: 'shop', peer: '10.0.0.9' };
    const feed = (calls: ApiCall[], who = cart) => {
      for (const c of calls) agg.observe(c, who, templater.template(who.workload, c.protocol, c.resource));
    };
    // Failures whose status is no HTTP 5xx: the portal must count them through the error label.
    const billing = { workload: 'billing', namespace: 'shop', peer: 'checkout' };
    const failures = () =>
      feed(
        [
          call('grpc', 'server', '/billing.Billing/Charge', 5, {
            method: 'Charge',
            status: '14',
            error: true,
          }),
          call('postgres', 'client', 'INSERT INTO charges VALUES (1)', 2, {
            method: 'INSERT',
            status: '23505',
            error: true,
          }),
          call('redis', 'client', 'GET k', 1, { method: 'GET', status: 'WRONGTYPE', error: true }),
        ],
        billing,
      );
    try {
      // Interval 1: 3 fast GETs on two user ids (one template), one 2 s 500, a client-side query.
      feed([
        call('http', 'server', '/users/1', 3),
        call('http', 'server', '/users/2', 3),
        call('http', 'server', '/users/3?token=x', 40),
        call('http', 'server', '/users/4', 2000, { status: '500', error: true }),
        call('postgres', 'client', "SELECT * FROM users WHERE id = 7 AND name = 'bob'", 1, {
          method: 'SELECT',
          status: '',
        }),
      ]);
      failures();
      exporter.flush();
      expect(await exporter.drain(20_000)).toBe(true);
      const t1 = Math.floor(Date.now() / 1000) * 1000 - 20_000;
      expect(ingester.flush(t1)).toBeGreaterThan(0);
      // Interval 2: 6 more fast GETs, so rate() over the two flushes sees 6 requests.
      feed(Array.from({ length: 6 }, (_, i) => call('http', 'server', `/users/${10 + i}`, 3)));
      failures();
      failures();
      exporter.flush();
      expect(await exporter.drain(20_000)).toBe(true);
      const t2 = t1 + 10_000;
      ingester.flush(t2);
      await until('the ingester queue to drain', async () => (ingester.queued === 0 ? true : undefined));
      await vm.flush();

      const at = t2 / 1000;
      const count = await vm.query(
        'sum by (resource, status, error) (http_server_request_duration_seconds_count{workload="cart",namespace="shop",peer="10.0.0.9"})',
        at,
      );
      expect(
        count.map((r) => [r.metric.resource, r.metric.status, r.metric.error, r.value[1]]).sort(),
      ).toEqual([
        ['/users/{id}', '200', 'false', '9'],
        ['/users/{id}', '500', 'true', '1'],
      ]);
      // The sensor label is removed by the ingester (it names the sender).
      const raw = await vm.query('http_server_request_duration_seconds_count{status="500"}', at);
      expect(raw[0]!.metric.sensor).toBeUndefined();
      expect(raw[0]!.metric).toMatchObject({ protocol: 'http', role: 'server', method: 'GET' });
      // Buckets: all 9 fast calls at or under 50 ms; the 500 is in the 2.5 s bucket.
      const le = await vm.query(
        'sum by (le) (http_server_request_duration_seconds_bucket{workload="cart",le=~"0.005|0.05|2.5|\\\\+Inf"})',
        at,
      );
      expect(Object.fromEntries(le.map((r) => [r.metric.le, r.value[1]]))).toEqual({
        '0.005': '8',
        '0.05': '9',
        '2.5': '10',
        '+Inf': '10',
      });
      const db = await vm.query('db_client_operation_duration_seconds_count{workload="cart"}', at);
      expect(db.map((r) => [r.metric.resource, r.metric.method, r.value[1]])).toEqual([
        ['SELECT * FROM users WHERE id = ? AND name = ?', 'SELECT', '1'],
      ]);
      // The portal's request-rate query over the window of both flushes: 6 new requests in 10 s.
      const q = redQueries({
        side: 'server',
        by: ['workload', 'resource'],
        where: { workload: 'cart' },
        windowS: 15,
      });
      const rate = await vm.query(q.requests, at);
      expect(rate.map((r) => [r.metric.resource, Number(r.value[1])])).toEqual([['/users/{id}', 0.6]]);
      // The portal's error-rate queries see gRPC, SQLSTATE and Redis failures (2 of each in 10 s).
      const errs = async (side: 'server' | 'client') =>
        (
          await vm.query(
            redQueries({ side, by: ['workload', 'protocol'], where: { workload: 'billing' }, windowS: 15 })
              .errors,
            at,
          )
        )
          .map((r) => [r.metric.protocol, Number(r.value[1])])
          .sort();
      expect(await errs('server')).toEqual([['grpc', 0.2]]);
      expect(await errs('client')).toEqual([
        ['postgres', 0.2],
        ['redis', 0.2],
      ]);
      const sent = await registry.getSingleMetricAsString('sensor_remote_write_samples_sent_total');
      expect(sent).toMatch(/sensor_remote_write_samples_sent_total [1-9]\d*/);
    } finally {
      await exporter.shutdown();
    }
  });
});
