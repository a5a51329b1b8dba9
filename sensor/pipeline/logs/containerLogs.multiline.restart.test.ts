import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChdbStore } from '../../../incloud/clickhouse/chdbStore.ts';
import type { OtlpCollector } from '../../../incloud/collector/collector.ts';
import { openTestStore, RecordingSink, startCollector } from '../../../incloud/collector/collectorTestKit.ts';
import { logsProcesses, startLogsProcess, stopLogsProcess as stop } from './testing/logsProcessKit.ts';

// A multi-line record still waiting for its next lines holds the saved offset at its first line: a
// SIGKILL then loses none of it and the restart ships it whole, once; a clean stop ships what waits.
// ContainerLogs runs in its own process (testing/containerLogsProcess.ts) against the real collector.
const dir = mkdtempSync(join(tmpdir(), 'understory-multiline-restart-'));
const root = join(dir, 'pods');
const pod = join(root, 'shop_billing-1_uid-mr', 'ml-pod');
const podLog = join(pod, '0.log');
const hostLog = join(dir, 'host', 'app.log');
const offsets = join(dir, 'offsets.json');
// flushMs far beyond the test: only the next record (or a clean stop) ends a record.
const extra = JSON.stringify({
  hostFiles: [{ path: join(dir, 'host', '*.log'), service: 'ml-host', multiline: { flushMs: 600_000 } }],
  multiline: { flushMs: 600_000 },
});
let store: ChdbStore;
let close: () => Promise<void>;
let collector: OtlpCollector;

const startSensor = () => startLogsProcess([root, offsets, `http://127.0.0.1:${collector.port}`, extra]);

/** Record n: a header line and `frames` indented frames (a stack trace). */
const trace = (n: number, frames: number, from = 1) =>
  Array.from({ length: frames }, (_, i) => `    at frame${from + i} (app.js:${n})`);
const header = (n: number) => `Error: record ${n}`;

/** Appends lines to the host file and, as CRI stderr lines, to the pod file. */
function write(lines: string[]): void {
  appendFileSync(hostLog, lines.map((l) => `${l}\n`).join(''));
  appendFileSync(
    podLog,
    lines.map((l, i) => `2026-11-25T21:00:00.${String(i).padStart(9, '0')}Z stderr F ${l}\n`).join(''),
  );
}

/** CRI stdout lines, one record each (single-line records under the stack-trace rule). */
const stdout = (lines: string[]) =>
  lines.map((l, i) => `2026-11-25T21:00:01.${String(i).padStart(9, '0')}Z stdout F ${l}\n`).join('');

/** Body -> times stored, per service. */
async function stored(service: string): Promise<Map<string, number>> {
  const rows = await store.query<{ Body: string; n: string }>(
    `SELECT Body, count() AS n FROM otel_logs WHERE ServiceName = '${service}' GROUP BY Body`,
  );
  return new Map(rows.map((r) => [r.Body, Number(r.n)]));
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 45_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const saved = (path: string) =>
  (JSON.parse(readFileSync(offsets, 'utf8')) as Record<string, { offset: number }>)[path]?.offset;
const size = (path: string) => readFileSync(path).length;

const rotPod = join(root, 'shop_billing-2_uid-rot', 'ml-rot');
const rotLog = join(rotPod, '0.log');

beforeAll(async () => {
  mkdirSync(rotPod, { recursive: true });
  mkdirSync(pod, { recursive: true });
  mkdirSync(join(dir, 'host'));
  ({ store, close } = await openTestStore());
  collector = await startCollector({ store, metrics: new RecordingSink() });
});
afterAll(async () => {
  for (const c of logsProcesses) c.kill('SIGKILL');
  await collector?.shutdown();
  await close?.();
  rmSync(dir, { recursive: true, force: true });
});

describe('multi-line records across a SIGKILL and a clean stop', () => {
  it('holds the offset at a pending record, ships it whole once after the restart, and flushes at a clean stop', async () => {
    const r1 = [header(1), ...trace(1, 3)];
    const r2 = [header(2), ...trace(2, 4)];
    write(r1);
    write(r2.slice(0, 3)); // record 2's first half: it waits for more lines
    const r2Host =
      size(hostLog) -
      Buffer.byteLength(
        r2
          .slice(0, 3)
          .map((l) => `${l}\n`)
          .join(''),
      );
    const r2Pod = readFileSync(podLog, 'utf8').indexOf(`F ${header(2)}`);
    // The other stream of the pod file goes on past record 2's start: its first line goes out (the second
    // starts the next record), though the offset stays held at record 2; the restart must not send it again.
    appendFileSync(podLog, stdout(['stdout one', 'stdout two']));
    const a = await startSensor();
    for (const service of ['ml-host', 'ml-pod'])
      await until(`record 1 of ${service}`, async () => (await stored(service)).has(r1.join('\n')));
    await until('the first stdout line', async () => (await stored('ml-pod')).has('stdout one'));
    await until('offsets at record 2', async () => saved(hostLog) === r2Host);
    // The pod file's offset sits at the start of record 2's first CRI line, never past it.
    expect(readFileSync(podLog, 'utf8').lastIndexOf('\n', r2Pod) + 1).toBe(saved(podLog));
    await stop(a, 'SIGKILL');

    write(r2.slice(3)); // the rest of record 2 arrives while no sensor runs
    const r3 = [header(3), ...trace(3, 2)];
    write(r3);
    const b = await startSensor();
    for (const service of ['ml-host', 'ml-pod'])
      await until(`record 2 of ${service}`, async () => (await stored(service)).has(r2.join('\n')));
    await stop(b, 'SIGTERM'); // record 3 is still waiting: a clean stop ships it
    const c = await startSensor();
    await stop(c, 'SIGTERM');
    for (const service of ['ml-host', 'ml-pod']) {
      // each record once, whole: no lone half of record 2, nothing repeated by the restarts
      expect(Object.fromEntries(await stored(service))).toEqual({
        [r1.join('\n')]: 1,
        [r2.join('\n')]: 1,
        [r3.join('\n')]: 1,
        // Re-read from record 2's start after the kill: the line that had gone out is skipped, the one
        // still pending is sent.
        ...(service === 'ml-pod' ? { 'stdout one': 1, 'stdout two': 1 } : {}),
      });
    }
    expect([saved(hostLog), saved(podLog)]).toEqual([size(hostLog), size(podLog)]);
  }, 120_000);
});

describe('per-stream restart marks across a rotation', () => {
  it('a rotated file starts its marks afresh: stdout lines of the new file are not skipped after a kill', async () => {
    const stderr = (lines: string[]) =>
      lines.map((l, i) => `2026-11-25T22:00:00.${String(i).padStart(9, '0')}Z stderr F ${l}\n`).join('');
    // The old file: many stdout lines go out, so its stdout mark ends far into it.
    appendFileSync(rotLog, stdout(Array.from({ length: 40 }, (_, i) => `old line ${i} ${'x'.repeat(40)}`)));
    const a = await startSensor();
    await until('the old file', async () => (await stored('ml-rot')).has(`old line 38 ${'x'.repeat(40)}`));
    // Rotated: the new file starts with a stderr record still pending (the offset is held at 0).
    renameSync(rotLog, `${rotLog}.20261125-220000`);
    appendFileSync(rotLog, stderr([header(9), ...trace(9, 2)]));
    // Held at 0 with its marks saved (what the restart will skip by).
    await until('the new file committed with its marks', async () => {
      const state = JSON.parse(readFileSync(offsets, 'utf8')) as Record<
        string,
        { offset: number; marks?: Record<string, number> }
      >;
      return state[rotLog]?.offset === 0 && state[rotLog]?.marks?.stderr === 0;
    });
    await stop(a, 'SIGKILL');
    // stdout lines land in the new file before its stale stdout mark would have ended.
    appendFileSync(rotLog, stdout(['new one', 'new two']));
    const b = await startSensor();
    await until('the new stdout line', async () => (await stored('ml-rot')).has('new one'));
    await stop(b, 'SIGTERM');
    const got = await stored('ml-rot');
    expect([got.get('new one'), got.get('new two'), got.get([header(9), ...trace(9, 2)].join('\n'))]).toEqual(
      [1, 1, 1],
    );
  }, 120_000);
});
