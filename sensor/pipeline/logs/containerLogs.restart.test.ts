import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChdbStore } from '../../../incloud/clickhouse/chdbStore.ts';
import type { OtlpCollector } from '../../../incloud/collector/collector.ts';
import { openTestStore, RecordingSink, startCollector } from '../../../incloud/collector/collectorTestKit.ts';
import { freePort } from '../../../lib/net.ts';
import { logsProcesses, startLogsProcess, stopLogsProcess } from './testing/logsProcessKit.ts';

// ContainerLogs in its own process, killed and restarted, against the real collector writing to chdb:
// offsets move only past acknowledged lines, so nothing read while the collector was down is lost, a
// SIGKILL repeats at most the batch in flight, and a clean stop (SIGTERM) repeats nothing.
const dir = mkdtempSync(join(tmpdir(), 'understory-logs-restart-'));
const root = join(dir, 'pods');
const container = join(root, 'shop_cart-7d9f_uid-9', 'restart-app');
const log = join(container, '0.log');
const offsets = join(dir, 'offsets.json');
let store: ChdbStore;
let close: () => Promise<void>;
let collector: OtlpCollector | undefined;
let port = 0;

const startSensor = () => startLogsProcess([root, offsets, `http://127.0.0.1:${port}`]);
const stop = stopLogsProcess;

let seq = 0;
/** Appends `n` numbered messages; every fifth is split by the runtime into a P and an F line. */
function write(n: number): void {
  let text = '';
  for (let i = 0; i < n; i++) {
    seq++;
    const t = `2026-11-25T20:00:00.${String(seq).padStart(9, '0')}Z`;
    const id = `line-${String(seq).padStart(5, '0')}`;
    text +=
      seq % 5 === 0
        ? `${t} stdout P ${id} first half\n${t} stdout F  second half\n`
        : `${t} stdout F ${id}\n`;
  }
  appendFileSync(log, text);
}

async function stored(): Promise<Map<string, number>> {
  const rows = await store.query<{ Body: string; n: string }>(
    "SELECT Body, count() AS n FROM otel_logs WHERE ServiceName = 'restart-app' GROUP BY Body",
  );
  return new Map(rows.map((r) => [r.Body.slice(0, 10), Number(r.n)]));
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      const have = await stored();
      const missing = Array.from({ length: seq }, (_, i) => `line-${String(i + 1).padStart(5, '0')}`).filter(
        (id) => !have.has(id),
      );
      throw new Error(
        `timed out waiting for: ${what} (missing ${missing.length}: ${missing.slice(0, 20).join(' ')}; offsets ${readFileSync(offsets, 'utf8')})`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  mkdirSync(container, { recursive: true });
  ({ store, close } = await openTestStore());
  port = await freePort();
});
afterAll(async () => {
  for (const c of logsProcesses) c.kill('SIGKILL');
  await collector?.shutdown();
  await close?.();
  rmSync(dir, { recursive: true, force: true });
});

describe('container logs across kills and restarts through the real collector', () => {
  it('loses nothing read while the collector was down, and repeats at most one batch after a SIGKILL', async () => {
    write(200);
    // 1. The collector is down: the sensor reads everything but nothing is acknowledged.
    const a = await startSensor();
    await new Promise((r) => setTimeout(r, 1500));
    await stop(a, 'SIGKILL');
    const saved = JSON.parse(readFileSync(offsets, 'utf8')) as Record<string, { offset: number }>;
    expect(saved[log]?.offset).toBe(0);

    // 2. The collector is up; kill the sensor while it is shipping, with more lines arriving.
    collector = await startCollector({ store, metrics: new RecordingSink(), port });
    const b = await startSensor();
    write(200);
    await until('some lines stored', async () => (await stored()).size >= 100);
    await stop(b, 'SIGKILL');
    write(100);
    renameSync(log, `${log}.20261125-200000`); // rotated while no sensor runs
    write(100);

    // 3. Restarted: finishes the rotated file from its offset, then the new one.
    const c = await startSensor();
    await until('all 600 messages stored', async () => (await stored()).size === 600);
    await stop(c, 'SIGTERM');
    const counts = await stored();
    const missing = Array.from({ length: 600 }, (_, i) => `line-${String(i + 1).padStart(5, '0')}`).filter(
      (id) => !counts.has(id),
    );
    expect(missing).toEqual([]);
    const repeated = [...counts.values()].reduce((sum, n) => sum + n - 1, 0);
    // A SIGKILL between the collector's answer and the offsets write repeats what was in flight: at most
    // two bodies of 40 records (one export call may straddle two bodies).
    expect(repeated).toBeLessThanOrEqual(80);
    // Split messages arrive whole, never as a lone second half.
    const halves = await store.query<{ n: string }>(
      "SELECT count() AS n FROM otel_logs WHERE ServiceName = 'restart-app' AND Body LIKE ' second half%'",
    );
    expect(Number(halves[0]!.n)).toBe(0);
  }, 120_000);

  it('repeats nothing after a clean stop (SIGTERM above) and start', async () => {
    const before = await stored();
    const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    const d = await startSensor();
    write(50);
    await until('50 more messages', async () => (await stored()).size === 650);
    await stop(d, 'SIGTERM');
    expect(total(await stored()) - total(before)).toBe(50);
  }, 120_000);
});
