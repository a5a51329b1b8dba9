import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../testing/ports.ts';
import { VictoriaMetricsProcess } from '../testing/victoriaMetrics.ts';
import { vmagentArgs } from '../vmagent/vmagentConfig.ts';
import { type IngesterOptions, MetricsIngester } from './ingester.ts';
import { encodeRemoteWrite, REMOTE_WRITE_HEADERS, type RemoteSeries } from './remoteWrite.ts';

// The ingester between real remote-write clients (vmagent, and our encoder) and a real VictoriaMetrics.
const tmp = mkdtempSync(join(tmpdir(), 'understory-ingester-'));
const vm = new VictoriaMetricsProcess();
let seq = 0;

async function startIngester(opts: Partial<IngesterOptions> = {}): Promise<MetricsIngester> {
  const ing = new MetricsIngester({
    host: '127.0.0.1',
    port: 0,
    vmUrl: vm.url,
    queueDir: join(tmp, `queue-${seq++}`),
    reportIntervalMs: 3_600_000, // flushed by hand unless a test says otherwise
    registry: new Registry(),
    ...opts,
  });
  await ing.start();
  return ing;
}

const post = (ing: MetricsIngester, series: RemoteSeries[]) =>
  fetch(`http://127.0.0.1:${ing.port}/api/v1/write`, {
    method: 'POST',
    headers: REMOTE_WRITE_HEADERS,
    body: encodeRemoteWrite(series),
  });

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

async function drained(ing: MetricsIngester): Promise<void> {
  await until('the ingester queue to drain', async () => (ing.queued === 0 ? true : undefined));
  await vm.flush();
}

const BASE = Math.floor(Date.now() / 60_000) * 60_000 - 30 * 60_000; // 30 min ago, whole minute
const at = (i: number) => BASE + i * 15_000;

beforeAll(async () => {
  await vm.start();
});
afterAll(async () => {
  await vm.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('metrics-ingester with vmagent and VictoriaMetrics', () => {
  it('aggregates what vmagent scrapes from two sensors and VictoriaMetrics answers PromQL with the sums', async () => {
    const ing = await startIngester({ reportIntervalMs: 500 });
    const sensors: Server[] = [];
    let agent: ChildProcess | undefined;
    try {
      for (const [requests, inflight] of [
        [10, 2],
        [32, 3],
      ]) {
        const srv = createServer((_req, res) => {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
          res.end(
            `# TYPE vmagent_test_requests_total counter\nvmagent_test_requests_total{workload="cart",status="200"} ${requests}\n` +
              `# TYPE vmagent_test_inflight gauge\nvmagent_test_inflight{workload="cart"} ${inflight}\n`,
          );
        });
        await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
        sensors.push(srv);
      }
      const cmd = vmagentArgs({
        targets: sensors.map((s) => ({
          job: 'sensor',
          url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/metrics`,
        })),
        remoteWriteUrl: `http://127.0.0.1:${ing.port}/api/v1/write`,
        dataDir: join(tmp, 'vmagent'),
        scrapeIntervalSeconds: 1,
        listenAddr: `127.0.0.1:${await freePort()}`,
      });
      agent = spawn(cmd.command, cmd.args, { stdio: 'ignore' });
      const total = await until('the aggregated counter in VictoriaMetrics', async () => {
        await vm.flush();
        const r = await vm.query('vmagent_test_requests_total{workload="cart"}');
        return r.length === 1 && r[0]!.value[1] === '42' ? r : undefined;
      });
      // The sensors' instance labels are aggregated away: one series, the sum.
      expect(total[0]!.metric).toEqual({
        __name__: 'vmagent_test_requests_total',
        job: 'sensor',
        workload: 'cart',
        status: '200',
      });
      const inflight = await vm.query('vmagent_test_inflight');
      expect(inflight.map((r) => r.value[1])).toEqual(['5']);
    } finally {
      agent?.kill('SIGTERM');
      for (const s of sensors) s.close();
      await ing.shutdown();
    }
  });

  it('enforces the per-metric limit with an overflow series and ages out series not reported', async () => {
    const ing = await startIngester({ aggregation: { maxSeriesPerMetric: 2, maxIdleIntervals: 2 } });
    try {
      const rq = (path: string, v: number) => ({
        labels: { __name__: 'lim_req_total', path },
        samples: [{ value: v, timestampMs: 1 }],
      });
      expect((await post(ing, [rq('/a', 1), rq('/b', 2), rq('/c', 3), rq('/d', 4)])).status).toBe(204);
      ing.flush(at(1));
      for (const i of [2, 3, 4]) {
        await post(ing, [rq('/a', i)]);
        ing.flush(at(i));
      }
      await drained(ing);
      const exported = Object.fromEntries(
        (await vm.export('{__name__="lim_req_total"}')).map((s) => [s.metric.path, s.timestamps]),
      );
      expect(exported).toEqual({
        '/a': [at(1), at(2), at(3), at(4)],
        '/b': [at(1), at(2), at(3)], // not reported after interval 1: written 2 more intervals, then aged out
        __overflow__: [at(1), at(2), at(3)],
      });
      const [over] = await vm.query('lim_req_total{path="__overflow__"}', at(1) / 1000);
      expect(over?.value[1]).toBe('7');
    } finally {
      await ing.shutdown();
    }
  });

  it('loses nothing it acknowledged while VictoriaMetrics is down, across an ingester restart too', async () => {
    const queueDir = join(tmp, 'outage-queue');
    let ing = await startIngester({ queueDir });
    const c = (v: number) => [
      { labels: { __name__: 'outage_total', workload: 'w' }, samples: [{ value: v, timestampMs: 1 }] },
    ];
    await post(ing, c(1));
    ing.flush(at(1));
    await drained(ing);
    await vm.stop();
    for (const i of [2, 3, 4]) {
      expect((await post(ing, c(i))).status).toBe(204);
      ing.flush(at(i));
    }
    await until('sends to fail', async () => (ing.queued === 3 ? true : undefined));
    const stoppedAt = Date.now();
    await ing.shutdown(200); // flushes the aggregate once more; VictoriaMetrics is still down: all stays on disk
    ing = await startIngester({ queueDir });
    try {
      expect(ing.queued).toBe(4);
      await vm.start();
      await drained(ing);
      // The last sample is stamped "now": VictoriaMetrics shows the newest second only after a moment.
      const series = await until('all five samples', async () => {
        await vm.flush();
        const [s] = await vm.export('outage_total');
        return s && s.timestamps.length >= 5 ? s : undefined;
      });
      expect(series?.timestamps.slice(0, 4)).toEqual([at(1), at(2), at(3), at(4)]);
      expect(series?.timestamps[4]).toBeGreaterThanOrEqual(stoppedAt);
      expect(series?.values).toEqual([1, 2, 3, 4, 4]);
    } finally {
      await vm.start();
      await ing.shutdown();
    }
  });

  it('keeps counter totals across an ingester restart: PromQL increase() sees no reset', async () => {
    const queueDir = join(tmp, 'totals-queue');
    const c = (instance: string, v: number) => ({
      labels: { __name__: 'restart_total', workload: 'w', instance },
      samples: [{ value: v, timestampMs: 1 }],
    });
    // Report times in the past (VictoriaMetrics answers recent instants late); the shutdown's own flush is
    // stamped now, after all of them, and stays out of the PromQL windows below.
    const t0 = Date.now() - 120_000;
    let ing = await startIngester({ queueDir });
    await post(ing, [c('a', 10), c('b', 5)]);
    ing.flush(t0); // 15
    await post(ing, [c('a', 12), c('b', 1)]); // sensor b restarted: its counter is back near 0
    ing.flush(t0 + 15_000); // 12 + 5 + 1 = 18
    await ing.shutdown(5_000); // flushes once more (18, stamped now) and saves the totals
    expect(ing.queued).toBe(0);
    ing = await startIngester({ queueDir });
    try {
      await post(ing, [c('a', 13), c('b', 2)]);
      ing.flush(t0 + 30_000); // 18 + 1 + 1 = 20 (without the saved totals: 13 + 2 = 15, a reset)
      await post(ing, [c('a', 20), c('b', 2)]);
      ing.flush(t0 + 45_000); // 27
      await drained(ing);
      const [exported] = await until('five samples', async () => {
        await vm.flush();
        const e = await vm.export('restart_total');
        return e[0]?.values.length === 5 ? e : undefined;
      });
      expect(exported?.values).toEqual([15, 18, 20, 27, 18]); // by time; the last is the shutdown's flush
      const end = (t0 + 45_000) / 1000;
      // Over the two reports after the restart, with the last one before it as the base: 27 - 18.
      const [inc] = await vm.query('increase(restart_total[20s])', end);
      expect(Number(inc?.value[1])).toBe(9);
      const [resets] = await vm.query('resets(restart_total[50s])', end);
      expect(Number(resets?.value[1])).toBe(0);
    } finally {
      await ing.shutdown();
    }
  });

  it('starts from zero, without failing, when the saved totals are damaged', async () => {
    const queueDir = join(tmp, 'damaged-totals');
    mkdirSync(queueDir, { recursive: true });
    writeFileSync(join(queueDir, 'totals.json'), '{"version":1,"series":[{"key":');
    const ing = await startIngester({ queueDir });
    try {
      expect(existsSync(join(queueDir, 'totals.json.damaged'))).toBe(true);
      expect(ing.flush(at(1))).toBe(0);
      expect(existsSync(join(queueDir, 'totals.json'))).toBe(true); // a good file again
    } finally {
      await ing.shutdown(0);
    }
  });

  it('answers bad input with a clear 4xx and changes nothing', async () => {
    const ing = await startIngester({ maxBodyBytes: 4096 });
    try {
      const url = `http://127.0.0.1:${ing.port}/api/v1/write`;
      const { compress } = await import('snappyjs');
      const cases: [string, RequestInit, number, RegExp][] = [
        [
          'bad snappy',
          { method: 'POST', headers: REMOTE_WRITE_HEADERS, body: Buffer.from('nope') },
          400,
          /cannot decompress/,
        ],
        [
          'bad protobuf',
          { method: 'POST', headers: REMOTE_WRITE_HEADERS, body: compress(Buffer.from([0x0a, 0xff, 0xff])) },
          400,
          /cannot decode remote write protobuf/,
        ],
        [
          'no __name__',
          {
            method: 'POST',
            headers: REMOTE_WRITE_HEADERS,
            body: encodeRemoteWrite([{ labels: { a: 'b' }, samples: [{ value: 1, timestampMs: 1 }] }]),
          },
          400,
          /no __name__/,
        ],
        [
          'not snappy',
          { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: Buffer.from('x') },
          415,
          /use snappy/,
        ],
        [
          'too big',
          { method: 'POST', headers: REMOTE_WRITE_HEADERS, body: Buffer.alloc(8192) },
          413,
          /limit 4096/,
        ],
        ['GET', { method: 'GET' }, 405, /use POST/],
      ];
      for (const [what, init, status, message] of cases) {
        const res = await fetch(url, init);
        expect({ what, status: res.status }).toEqual({ what, status });
        expect(await res.text()).toMatch(message);
      }
      expect((await fetch(`http://127.0.0.1:${ing.port}/other`, { method: 'POST' })).status).toBe(404);
      expect(ing.flush(at(1))).toBe(0); // nothing was aggregated
    } finally {
      await ing.shutdown();
    }
  });
});
