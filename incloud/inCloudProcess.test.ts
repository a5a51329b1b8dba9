import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InCloudProcess } from './inCloudProcess.ts';
import { freePort } from './testing/ports.ts';
import { VictoriaMetricsProcess } from './testing/victoriaMetrics.ts';
import { vmagentArgs } from './vmagent/vmagentConfig.ts';

// The one-process shape of `understory up`: chdb + schema + metrics-ingester + collector, against a private
// VictoriaMetrics. OTLP logs land in ClickHouse; OTLP metrics go collector -> ingester (in process) -> VM.
describe('InCloudProcess', () => {
  const dir = mkdtempSync(join(tmpdir(), 'understory-incloud-'));
  const vm = new VictoriaMetricsProcess();
  let proc: InCloudProcess;
  beforeAll(async () => {
    await vm.start();
    proc = new InCloudProcess({
      dataDir: dir,
      adminHost: '127.0.0.1',
      adminPort: 0,
      collectorPort: 0,
      ingesterPort: 0,
      watcherPort: 0,
      vmUrl: vm.url,
      reportIntervalMs: 3_600_000,
    });
    await proc.start();
  });
  afterAll(async () => {
    await proc?.shutdown();
    await vm.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores OTLP logs, forwards OTLP metrics to VictoriaMetrics and reports health and metrics', async () => {
    const otlp = `http://127.0.0.1:${proc.collector.port}`;
    const nowNs = String(Date.now() * 1_000_000);
    const logs = await fetch(`${otlp}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceLogs: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] },
            scopeLogs: [{ logRecords: [{ timeUnixNano: nowNs, body: { stringValue: 'order placed' } }] }],
          },
        ],
      }),
    });
    expect(logs.status).toBe(200);
    const metrics = await fetch(`${otlp}/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceMetrics: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] },
            scopeMetrics: [
              {
                metrics: [
                  {
                    name: 'orders',
                    sum: {
                      aggregationTemporality: 2,
                      isMonotonic: true,
                      dataPoints: [{ asInt: '7', timeUnixNano: nowNs }],
                    },
                  },
                ],
              },
            ],
          },
        ],
      }),
    });
    expect(metrics.status).toBe(200);
    const rows = await proc.clickhouse.store.query<{ Body: string }>(
      "SELECT Body FROM otel_logs WHERE ServiceName = 'shop'",
    );
    expect(rows).toEqual([{ Body: 'order placed' }]);

    const flushedAt = Date.now();
    expect(proc.ingester.flush(flushedAt)).toBe(1);
    const deadline = Date.now() + 20_000;
    while (proc.ingester.queued > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await vm.flush();
    // VictoriaMetrics answers queries about the last second or two only after a moment: poll.
    let value: string | undefined;
    while (value === undefined && Date.now() < deadline) {
      value = (await vm.query('orders_total{job="shop"}', Math.ceil(flushedAt / 1000)))[0]?.value[1];
      if (value === undefined) await new Promise((r) => setTimeout(r, 250));
    }
    expect(value).toBe('7');

    const admin = `http://127.0.0.1:${proc.adminPort}`;
    const health = await fetch(`${admin}/healthz`);
    expect(health.status).toBe(200);
    expect(Object.keys(((await health.json()) as { components: object }).components)).toEqual(
      expect.arrayContaining(['clickhouse', 'clickhouse-schema', 'metrics-ingester', 'collector']),
    );
    const text = await (await fetch(`${admin}/metrics`)).text();
    expect(text).toMatch(/collector_records_stored_total\{signal="logs",process="incloud"\} 1/);
    expect(text).toMatch(/ingester_samples_written_total\{process="incloud"\} 1/);
  });

  it('is scraped by vmagent (vmagentArgs) into VictoriaMetrics', async () => {
    const cmd = vmagentArgs({
      targets: [{ job: 'incloud', url: `http://127.0.0.1:${proc.adminPort}/metrics` }],
      remoteWriteUrl: `${vm.url}/api/v1/write`,
      dataDir: join(dir, 'vmagent'),
      scrapeIntervalSeconds: 1,
      listenAddr: `127.0.0.1:${await freePort()}`,
    });
    const agent = spawn(cmd.command, cmd.args, { stdio: 'ignore' });
    try {
      const deadline = Date.now() + 30_000;
      let found: string | undefined;
      while (found === undefined && Date.now() < deadline) {
        await vm.flush();
        const r = await vm.query('collector_records_stored_total{job="incloud",signal="logs"}');
        found = r[0]?.value[1];
        if (found === undefined) await new Promise((res) => setTimeout(res, 250));
      }
      expect(found).toBe('1'); // the log record stored by the previous test
    } finally {
      agent.kill('SIGTERM');
    }
  });
});
