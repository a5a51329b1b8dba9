import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/understory.mjs', import.meta.url));

// `understory migrate` run as a user would (each CLI start costs seconds here: the option parsing is unit-tested).
describe('understory migrate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'understory-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('migrates the embedded ClickHouse once, then finds nothing to do but a changed retention', async () => {
    const first = await run(process.execPath, [BIN, 'migrate', '--data-dir', dir]);
    expect(JSON.parse(first.stdout)).toMatchObject({
      backend: 'chdb',
      applied: [
        '0001_otel_logs',
        '0002_otel_traces',
        '0003_otel_traces_trace_id_ts',
        '0004_otel_traces_trace_id_ts_mv',
        '0005_k8s_events',
        '0020_alert_history',
        '0021_monitor_config',
      ],
    });
    const second = await run(process.execPath, [
      BIN,
      'migrate',
      '--data-dir',
      dir,
      '--logs-retention-days',
      '3',
    ]);
    expect(JSON.parse(second.stdout)).toEqual({
      backend: 'chdb',
      applied: [],
      alreadyApplied: 7,
      retentionChanged: ['otel_logs'],
    });
  });
});

describe('command options', () => {
  it('refuses retention past 10 years and bad drop rules', async () => {
    const { parseDays, collectDropRule } = await import('./commandOptions.ts');
    expect(parseDays('30')).toBe(30);
    expect(() => parseDays('99999')).toThrow(/at most 3650 days/);
    expect(() => parseDays('-1')).toThrow(/not a positive integer/);
    expect(collectDropRule('http_.*:request_id', [])).toEqual([
      { metric: 'http_.*', labels: ['request_id'] },
    ]);
    expect(collectDropRule('pod', [])).toEqual([{ labels: ['pod'] }]);
    expect(() => collectDropRule('x:not a label', [])).toThrow(/not a label name/);
    expect(() => collectDropRule('(:pod', [])).toThrow(/not a regular expression/);
  });
});
