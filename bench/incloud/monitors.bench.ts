/**
 * Monitors benchmark (`npm run bench monitors`).
 *
 * 1. One SQL monitor evaluation (`severity:error` count per service over 5 minutes) on chdb with 200,000 log
 *    rows: the compiled, parameterized query through the bounded ClickhouseReader, against the same aggregation
 *    written by hand as plain SQL with literals and no settings (baseline), interleaved; p50 and p99.
 * 2. Notification delivery throughput: the Notifier (grouping off, JSON payload, retries armed) against plain
 *    `fetch` POSTs of the same payload to the same local receiver (baseline).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dt64ms } from '../../incloud/monitors/alertHistory.ts';
import { AlertTracker } from '../../incloud/monitors/alertTracker.ts';
import { MonitorMetrics } from '../../incloud/monitors/metrics.ts';
import { Notifier } from '../../incloud/monitors/notifier.ts';
import { notificationAlert, webhookPayload } from '../../incloud/monitors/payloads.ts';
import { compileCondition } from '../../incloud/monitors/sqlCondition.ts';
import { monitor, openStore, target } from '../../incloud/monitors/testing/stack.ts';
import { ClickhouseReader } from '../../incloud/portal/clickhouseReader.ts';
import { defaultLimits } from '../../incloud/portal/limits.ts';
import { sqlCondition } from '../../lib/tunnel/monitors.ts';
import { percentile, record } from '../harness.ts';

const ROWS = 200_000;
const ITERATIONS = Number(process.env.MONITORS_BENCH_ITERATIONS ?? 40);
const NOTIFICATIONS = Number(process.env.MONITORS_BENCH_NOTIFICATIONS ?? 500);

async function evaluation(): Promise<void> {
  const db = await openStore();
  try {
    const now = Date.now();
    const rows = Array.from({ length: ROWS }, (_, i) => ({
      Timestamp: dt64ms(now - 1000 - (i % 290_000)),
      ServiceName: `svc-${i % 20}`,
      SeverityText: i % 10 === 0 ? 'ERROR' : 'INFO',
      Body: `request ${i} ${i % 10 === 0 ? 'failed' : 'ok'}`,
    }));
    for (let i = 0; i < rows.length; i += 50_000)
      await db.store.insert('otel_logs', rows.slice(i, i + 50_000));
    const reader = new ClickhouseReader(db.store, defaultLimits().clickhouse);
    const cond = sqlCondition.parse({
      type: 'sql',
      source: 'logs',
      filter: 'severity:error',
      windowSeconds: 300,
      groupBy: 'service',
      op: '>',
      threshold: 100,
    });
    const start = Math.floor((now - 300_000) / 1000);
    const plain = `SELECT ServiceName AS g, count() AS v FROM otel_logs
WHERE TimestampTime >= toDateTime(${start}) AND Timestamp >= fromUnixTimestamp64Milli(${now - 300_000})
  AND Timestamp < fromUnixTimestamp64Milli(${now}) AND lower(SeverityText) = 'error'
GROUP BY g ORDER BY v DESC LIMIT 100`;
    const monitorMs: number[] = [];
    const plainMs: number[] = [];
    let groups = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      let t = performance.now();
      const { sql, params } = compileCondition(cond, now);
      groups = (await reader.select(sql, params)).length;
      monitorMs.push(performance.now() - t);
      t = performance.now();
      await db.store.query(plain);
      plainMs.push(performance.now() - t);
    }
    const notes = `${ROWS} log rows, 20 services, ${groups} groups, ${ITERATIONS} interleaved runs, chdb`;
    for (const p of [50, 99])
      record({
        benchmark: 'monitors/sql-evaluation',
        metric: `p${p}_ms`,
        value: percentile(monitorMs, p),
        unit: 'ms',
        baseline: percentile(plainMs, p),
        notes: `${notes}; baseline: the same aggregation as hand-written SQL without the reader's bounds`,
      });
  } finally {
    await db.close();
  }
}

async function delivery(): Promise<void> {
  let received = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const m = monitor('bench', {
    name: 'bench',
    condition: { type: 'promql', query: 'up', op: '<', threshold: 1 },
  });
  const t = target('t', { name: 't', type: 'webhook', url });
  const tracker = new AlertTracker();
  const alerts = Array.from({ length: NOTIFICATIONS }, (_, i) =>
    notificationAlert(m, tracker.active('bench', { pod: `p${i}` }, 1, Date.now(), 0)[0]!),
  );
  try {
    // Baseline: the same payloads POSTed with plain fetch, NOTIFICATIONS at once.
    let t0 = performance.now();
    await Promise.all(
      alerts.map((a, i) =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(webhookPayload(String(i), m, [a])),
        }).then((r) => r.arrayBuffer()),
      ),
    );
    const plainPerS = NOTIFICATIONS / ((performance.now() - t0) / 1000);
    received = 0;
    const notifier = new Notifier({
      groupWaitMs: 0,
      retry: { initialMs: 100, maxMs: 1000, maxAttempts: 3 },
      attemptTimeoutMs: 10_000,
      metrics: new MonitorMetrics(),
    });
    t0 = performance.now();
    // One monitor per notification so grouping does not merge them.
    for (const [i, a] of alerts.entries()) notifier.enqueue({ ...m, id: `bench-${i}` }, t, a);
    while (received < NOTIFICATIONS) await new Promise((r) => setTimeout(r, 1));
    const notifierPerS = NOTIFICATIONS / ((performance.now() - t0) / 1000);
    await notifier.shutdown();
    record({
      benchmark: 'monitors/notification-delivery',
      metric: 'notifications_per_second',
      value: notifierPerS,
      unit: '1/s',
      baseline: plainPerS,
      notes: `${NOTIFICATIONS} notifications to a local HTTP receiver; baseline: plain fetch POSTs of the same payloads`,
    });
  } finally {
    server.close();
  }
}

await evaluation();
await delivery();
