import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChdbStore } from '../../incloud/clickhouse/chdbStore.ts';
import type { OtlpCollector } from '../../incloud/collector/collector.ts';
import { openTestStore, RecordingSink, startCollector } from '../../incloud/collector/collectorTestKit.ts';
import { MetricsIngester } from '../../incloud/ingester/ingester.ts';
import { VictoriaMetricsProcess } from '../../incloud/testing/victoriaMetrics.ts';
import { type RunningServer, startPostgres, startRedis } from '../testing/servers.ts';

/**
 * Issue 5 end to end: a workload (a Node HTTP server and its client in one process, psql and redis-cli
 * children of it) runs while the real `understory sensor` process captures it; the RED series arrive in a
 * private VictoriaMetrics through the real metrics-ingester (checked with PromQL) and the spans reach the
 * real OTLP collector, read back from chdb's otel_traces. Needs root (the sensor loads eBPF).
 *
 * Both receivers require the ingest token, as in a cluster: the sensor reads it from
 * UNDERSTORY_INGEST_TOKEN_FILE (the chart's variable); a request without it gets 401; the token never shows
 * in the sensor's output. The cluster name (UNDERSTORY_CLUSTER_NAME) lands on series and spans.
 *
 * Under load every wait is on a condition with one overall budget per test (no fixed sleeps), and a
 * timeout names what was awaited with the last value seen and the sensor's stderr.
 */
const repo = new URL('../../', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'understory-sensor-e2e-'));
const TOKEN = randomBytes(24).toString('base64url');
const tokenFile = join(tmp, 'ingest-token');
writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
const vm = new VictoriaMetricsProcess();
let ingester: MetricsIngester;
let store: ChdbStore;
let closeStore: () => Promise<void>;
let collector: OtlpCollector;
let pg: RunningServer;
let redis: RunningServer;
let workload: ChildProcess;
let sensor: ChildProcess;
let sensorErr = '';
let adminUrl = '';

/** The workload: waits for "go" on stdin, makes its calls, prints "done". */
const WORKLOAD = (pgPort: number, redisPort: number) => `
  const http = require('node:http');
  const { execFileSync } = require('node:child_process');
  const server = http.createServer((req, res) => {
    const fail = req.url.startsWith('/api/fail');
    res.writeHead(fail ? 500 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ url: req.url, pad: 'x'.repeat(900) }));
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
  const get = (port, path) => new Promise((resolve, reject) =>
    http.get({ port, host: '127.0.0.1', path, agent }, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject));
  server.listen(0, '127.0.0.1', () => {
    console.log('READY');
    process.stdin.once('data', async () => {
      const port = server.address().port;
      for (let i = 0; i < 20; i++) await get(port, '/api/items/' + (1000 + i));
      for (let i = 0; i < 2; i++) await get(port, '/api/fail?attempt=' + i);
      const psql = ['-h', '127.0.0.1', '-p', '${pgPort}', '-U', 'postgres', '-c', 'SELECT 1', '-c', 'SELECT 2'];
      for (let i = 0; i < 3; i++) execFileSync('psql', psql);
      execFileSync('redis-cli', ['-p', '${redisPort}', 'SET', 'e2e:key', 'v']);
      execFileSync('redis-cli', ['-p', '${redisPort}', 'GET', 'e2e:key']);
      console.log('done');
      agent.destroy();
      server.close();
    });
  });`;

/**
 * A second workload for load shedding: `run <path> <seconds>` sends GET <path>/<n> on a new connection per
 * request (so calls spread over many connections, the unit the kernel leaves out), 4 at a time, and prints
 * how many completed.
 */
const SHED_WORKLOAD = `
  const http = require('node:http');
  const server = http.createServer((req, res) => res.end('{"ok":true}'));
  const get = (port, path) => new Promise((resolve, reject) =>
    http.get({ port, host: '127.0.0.1', path, agent: false }, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject));
  server.listen(0, '127.0.0.1', () => {
    console.log('READY');
    require('node:readline').createInterface({ input: process.stdin }).on('line', async (line) => {
      const [, path, seconds] = line.split(' ');
      const until = Date.now() + Number(seconds) * 1000;
      let n = 0;
      await Promise.all([0, 1, 2, 3].map(async () => {
        while (Date.now() < until) await get(server.address().port, path + '/' + (1000 + n++));
      }));
      console.log('completed ' + n);
    });
  });`;

/** `understory sensor` capturing `pid`, exporting RED series to the ingester with the ingest token. */
function spawnSensor(pid: number, args: string[], env: Record<string, string>): ChildProcess {
  const base = ['--pid', String(pid), '--remote-write-url', `http://127.0.0.1:${ingester.port}/api/v1/write`];
  const quiet = ['--metrics-interval-ms', '1000', '--admin-port', '0', '--stats-interval', '0', '--no-logs'];
  return spawn(process.execPath, ['bin/understory.mjs', 'sensor', ...base, ...quiet, ...args], {
    cwd: repo,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, UNDERSTORY_INGEST_TOKEN_FILE: tokenFile, ...env },
  });
}

function lines(
  child: ChildProcess,
  stream: 'stdout' | 'stderr',
  wanted: RegExp,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (b: Buffer) => {
      buf += b.toString();
      const m = wanted.exec(buf);
      if (m) {
        child[stream]!.off('data', onData);
        resolve(m[1] ?? m[0]);
      }
    };
    child[stream]!.on('data', onData);
    setTimeout(
      () => reject(new Error(`${wanted} not seen in ${timeoutMs} ms: ${buf.slice(-3000)}`)),
      timeoutMs,
    ).unref();
  });
}

beforeAll(async () => {
  let opened: { store: ChdbStore; close: () => Promise<void> };
  [opened, pg, redis] = await Promise.all([openTestStore(), startPostgres(), startRedis(), vm.start()]);
  ({ store, close: closeStore } = opened);
  collector = await startCollector({ store, metrics: new RecordingSink(), token: TOKEN });
  ingester = new MetricsIngester({
    token: TOKEN,
    host: '127.0.0.1',
    port: 0,
    vmUrl: vm.url,
    queueDir: join(tmp, 'queue'),
    reportIntervalMs: 1000,
    registry: new Registry(),
  });
  await ingester.start();
  workload = spawn(process.execPath, ['-e', WORKLOAD(pg.port, redis.port)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  await lines(workload, 'stdout', /READY/, 60_000);
  // Set through the environment, as the Helm chart does.
  sensor = spawnSensor(workload.pid!, [], {
    UNDERSTORY_OTLP_URL: `http://127.0.0.1:${collector.port}`,
    UNDERSTORY_TRACE_BASELINE_RATE: '1',
    UNDERSTORY_TRACE_RATE: '1000',
    UNDERSTORY_NODE_NAME: 'e2e-node',
    UNDERSTORY_CLUSTER_NAME: 'e2e-cluster',
    UNDERSTORY_RESOURCES_INTERVAL_MS: '1000',
    UNDERSTORY_NO_TLS: 'true',
  });
  sensor.stderr!.on('data', (b: Buffer) => {
    sensorErr = (sensorErr + b.toString()).slice(-20_000);
  });
  adminUrl = await lines(sensor, 'stderr', /\/healthz and \/metrics on (http:\/\/\S+)/, 120_000);
}, 240_000);

afterAll(async () => {
  workload?.kill();
  if (sensor && sensor.exitCode === null) {
    sensor.kill('SIGTERM');
    await new Promise((r) => sensor.once('exit', r));
  }
  await ingester?.shutdown();
  await collector?.shutdown();
  await closeStore?.();
  await Promise.all([pg?.stop(), redis?.stop(), vm.close()]);
  rmSync(tmp, { recursive: true, force: true });
});

/**
 * Polls `fn` until it returns a value, within `deadline` (an absolute time shared by a test's waits, so a
 * slow first step leaves less for the next instead of each getting a fixed slice). `fn` may describe what
 * it saw last through `seen`, which the timeout message shows.
 */
async function until<T>(
  what: string,
  deadline: number,
  fn: (seen: (s: unknown) => void) => Promise<T | undefined>,
): Promise<T> {
  let last: unknown = 'nothing yet';
  const seen = (s: unknown) => {
    last = s;
  };
  for (;;) {
    const v = await fn(seen);
    if (v !== undefined) return v;
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}; last seen: ${JSON.stringify(last)}; sensor stderr:\n${sensorErr.slice(-4000)}`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Waits until an instant PromQL query returning one series equals `want`. */
async function promql(expr: string, want: number, deadline: number): Promise<number> {
  return until(`${expr} == ${want}`, deadline, async (seen) => {
    await vm.flush();
    const r = await vm.query(expr);
    const v = r.length === 1 ? Number(r[0]!.value[1]) : Number.NaN;
    seen(r.map((s) => [s.metric, s.value[1]]));
    return v === want ? v : undefined;
  });
}

/** Per test: room for a machine loaded by other suites; every wait inside shares it. */
const TEST_BUDGET_MS = 240_000;

describe('understory sensor end to end', () => {
  it('serves /healthz and its counters while capturing', async () => {
    const health = await fetch(`${adminUrl}/healthz`);
    expect(health.status, await health.clone().text()).toBe(200);
    const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
    expect(metrics).toContain('understory_sensor_capture_events_total');
    expect(metrics).toContain('sensor_live_connections');
  });

  it('the receivers refuse data without the ingest token', async () => {
    const rw = await fetch(`http://127.0.0.1:${ingester.port}/api/v1/write`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
      body: new Uint8Array(0),
    });
    expect(rw.status).toBe(401);
    const otlp = await fetch(`http://127.0.0.1:${collector.port}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', authorization: 'Bearer not-the-token' },
      body: new Uint8Array(0),
    });
    expect(otlp.status).toBe(401);
  });

  it(
    'RED series of the workload reach VictoriaMetrics; spans reach ClickHouse',
    async () => {
      const deadline = Date.now() + TEST_BUDGET_MS - 20_000;
      workload.stdin!.write('go\n');
      await lines(workload, 'stdout', /done/, deadline - Date.now());
      await promql(
        'sum(http_server_request_duration_seconds_count{resource="/api/items/{id}",status="200"})',
        20,
        deadline,
      );
      await promql(
        'sum(http_client_request_duration_seconds_count{resource="/api/items/{id}",status="200"})',
        20,
        deadline,
      );
      await promql(
        'sum(http_server_request_duration_seconds_count{resource="/api/fail",error="true"})',
        2,
        deadline,
      );
      await promql(
        'sum(db_client_operation_duration_seconds_count{protocol="postgres",method="SELECT"})',
        6,
        deadline,
      );
      await promql(
        'sum(db_client_operation_duration_seconds_count{protocol="redis",method="SET"})',
        1,
        deadline,
      );
      await promql(
        'sum(db_client_operation_duration_seconds_count{protocol="redis",method="GET",status="OK"})',
        1,
        deadline,
      );
      // Node resource metrics from the same process (UNDERSTORY_RESOURCES_INTERVAL_MS=1000).
      await until('node_memory_MemTotal_bytes', deadline, async () => {
        await vm.flush();
        const r = await vm.query('node_memory_MemTotal_bytes');
        return r.length > 0 ? r : undefined;
      });
      // The cluster name is a label of every series (one value: no new cardinality).
      await promql(
        'sum(http_server_request_duration_seconds_count{resource="/api/items/{id}",status="200",k8s_cluster_name="e2e-cluster"})',
        20,
        deadline,
      );

      const rows = await until('spans in otel_traces', deadline, async (seen) => {
        const r = await store.query<Record<string, unknown>>(
          "SELECT SpanName, SpanKind, StatusCode, SpanAttributes, ResourceAttributes FROM otel_traces WHERE ResourceAttributes['host.name'] = 'e2e-node'",
        );
        const names = new Set(r.map((x) => `${x.SpanName} ${x.SpanKind} ${x.StatusCode}`));
        seen([...names]);
        return names.has('GET /api/items/{id} SPAN_KIND_SERVER STATUS_CODE_UNSET') &&
          names.has('GET /api/fail SPAN_KIND_SERVER STATUS_CODE_ERROR') &&
          names.has('GET /api/items/{id} SPAN_KIND_CLIENT STATUS_CODE_UNSET')
          ? r
          : undefined;
      });
      const failed = rows.find((r) => r.SpanName === 'GET /api/fail' && r.SpanKind === 'SPAN_KIND_SERVER')!;
      expect(failed.SpanAttributes).toMatchObject({
        'http.response.status_code': '500',
        'url.path': '/api/fail',
      });
      const kinds = new Set(
        rows.map((r) => (r.SpanAttributes as Record<string, string>)['understory.protocol']),
      );
      expect([...kinds]).toEqual(expect.arrayContaining(['http', 'postgres', 'redis']));
      for (const r of rows)
        expect((r.ResourceAttributes as Record<string, string>)['k8s.cluster.name']).toBe('e2e-cluster');
      // Nothing was refused on the way: the token was sent with every request.
      const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
      expect(metrics).not.toMatch(
        /sensor_(remote_write_samples|otlp_spans)_dropped_total\{reason="rejected"\} [1-9]/,
      );
      expect(metrics).not.toContain(TOKEN);
    },
    TEST_BUDGET_MS,
  );

  it(
    'over its CPU budget it leaves whole connections out and scales RED counts to the whole traffic',
    async () => {
      const deadline = Date.now() + TEST_BUDGET_MS - 20_000;
      const shedWorkload = spawn(process.execPath, ['-e', SHED_WORKLOAD], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let shedSensor: ChildProcess | undefined;
      let shedErr = '';
      try {
        await lines(shedWorkload, 'stdout', /READY/, 60_000);
        // Far below what the traffic needs: the sensor sheds down to its floor (1/64 of connections).
        shedSensor = spawnSensor(shedWorkload.pid!, ['--no-tls', '--cpu-limit', '0.005'], {
          UNDERSTORY_NODE_NAME: 'shed-node',
        });
        shedSensor.stderr!.on('data', (b: Buffer) => {
          shedErr = (shedErr + b.toString()).slice(-20_000);
        });
        const url = await lines(shedSensor, 'stderr', /\/healthz and \/metrics on (http:\/\/\S+)/, 120_000);
        /** One sample of the sensor's /metrics (gauge or counter, any labels). */
        const metric = async (name: string) => {
          const text = await (await fetch(`${url}/metrics`)).text();
          return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
        };
        // Warm-up traffic on its own path brings the share to its floor (an idle sensor grows it again).
        shedWorkload.stdin!.write('run /warm 5\n');
        const warmed = lines(shedWorkload, 'stdout', /completed (\d+)/, 60_000);
        await until('keep ratio at its floor', deadline, async (seen) => {
          const keep = await metric('understory_sensor_capture_keep_ratio');
          seen(keep);
          return keep === 1 / 64 ? keep : undefined;
        });
        await warmed;
        shedWorkload.stdin!.write('run /shed 5\n');
        const completed = Number(await lines(shedWorkload, 'stdout', /completed (\d+)/, 60_000));
        expect(completed).toBeGreaterThan(500);
        // The estimate settles once the last batch is exported: read until two reads 2.5 s apart agree.
        const count = 'sum(http_server_request_duration_seconds_count{resource="/shed/{id}"})';
        let last = -1;
        const estimate = await until('a settled estimate', deadline, async (seen) => {
          await vm.flush();
          const r = await vm.query(count);
          const v = r.length === 1 ? Number(r[0]!.value[1]) : Number.NaN;
          seen({
            v,
            completed,
            err: shedErr.slice(-1500),
          });
          const settled = v > 0 && v === last;
          last = v;
          if (!settled) await new Promise((r) => setTimeout(r, 2000));
          return settled ? v : undefined;
        });
        // ~1/64 of the connections were captured, each call standing for ~64: an estimate, not a count.
        expect(estimate / completed).toBeGreaterThan(0.8);
        expect(estimate / completed).toBeLessThan(1.2);
        // The calls kept are whole: no call of this path was cut into an error.
        const failed = await vm.query(
          'sum(http_server_request_duration_seconds_count{resource="/shed/{id}",error="true"})',
        );
        expect(failed).toEqual([]);
        expect(await metric('understory_sensor_cpu_limit_cores')).toBe(0.005);
        expect(await metric('understory_sensor_capture_shed_total')).toBeGreaterThan(completed);
        // The programs' own time on the workload's calls is estimated (and counted in the budget).
        expect(await metric('understory_sensor_capture_kernel_seconds_total')).toBeGreaterThan(0);
      } finally {
        shedWorkload.kill();
        if (shedSensor && shedSensor.exitCode === null) {
          shedSensor.kill('SIGTERM');
          await new Promise((r) => shedSensor!.once('exit', r));
        }
      }
    },
    TEST_BUDGET_MS,
  );

  it('stops on SIGTERM with its counters', async () => {
    sensor.kill('SIGTERM');
    const code = await new Promise((r) => sensor.once('exit', r));
    expect(code, sensorErr.slice(-3000)).toBe(0);
    expect(sensorErr).toMatch(/sensor: events=\d+ drops=0 .* calls=\d+ .*http=\d+/);
    expect(sensorErr).not.toContain(TOKEN);
  });
});
