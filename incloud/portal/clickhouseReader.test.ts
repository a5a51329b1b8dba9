import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChdbStore } from '../clickhouse/chdbStore.ts';
import { ClickhouseReader } from './clickhouseReader.ts';
import { defaultLimits, type PortalLimits } from './limits.ts';
import { QueryError } from './query.ts';

/** Proves, on the real embedded ClickHouse, that each bound in the SETTINGS clause is honoured. */
describe('ClickhouseReader on chdb', () => {
  let dir: string;
  let store: ChdbStore;
  const limits = (over: Partial<PortalLimits['clickhouse']>) => ({ ...defaultLimits().clickhouse, ...over });
  const reader = (over: Partial<PortalLimits['clickhouse']> = {}) =>
    new ClickhouseReader(store, limits(over));
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => e,
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'understory-reader-'));
    store = new ChdbStore(join(dir, 'ch'));
    store.open();
    await store.exec('CREATE TABLE canary (x UInt8) ENGINE = MergeTree ORDER BY x');
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a bounded SELECT with bound parameters', async () => {
    const rows = await reader().select<{ s: string }>('SELECT {v:String} AS s', {
      v: "'; DROP TABLE canary; --",
    });
    expect(rows).toEqual([{ s: "'; DROP TABLE canary; --" }]);
  });

  it('readonly = 1: table functions that touch files or the network are refused', async () => {
    const err = await failure(reader().select("SELECT * FROM file('/etc/hostname', 'LineAsString')", {}));
    expect(err).toBeInstanceOf(QueryError);
    expect((err as QueryError).code).toBe('bad_request');
    // The same query without the reader's settings runs: the refusal comes from readonly.
    await expect(store.query("SELECT * FROM file('/etc/hostname', 'LineAsString')")).resolves.toHaveLength(1);
  });

  it('max_execution_time ends a long query with a timeout', async () => {
    const err = await failure(
      reader({ maxExecutionSeconds: 1, maxRowsToRead: 1e12, maxBytesToRead: 1e13 }).select(
        'SELECT count() FROM numbers(100000000000) WHERE sipHash64(number) = 1',
        {},
      ),
    );
    expect(err).toMatchObject({ code: 'timeout' });
  }, 30_000);

  it('a request deadline shorter than the limit lowers max_execution_time', async () => {
    const err = await failure(
      reader({ maxExecutionSeconds: 600, maxRowsToRead: 1e12, maxBytesToRead: 1e13 }).select(
        'SELECT count() FROM numbers(100000000000) WHERE sipHash64(number) = 1',
        {},
        { timeoutMs: 1000 },
      ),
    );
    expect(err).toMatchObject({ code: 'timeout' });
  }, 30_000);

  it('max_result_rows refuses a result with too many rows', async () => {
    const err = await failure(reader({ maxResultRows: 10 }).select('SELECT number FROM numbers(1000)', {}));
    expect(err).toMatchObject({ code: 'too_large' });
    await expect(
      reader({ maxResultRows: 10 }).select('SELECT number FROM numbers(10)', {}),
    ).resolves.toHaveLength(10);
  });

  it('max_result_bytes refuses a large result of real (non-constant) strings', async () => {
    const sql = "SELECT concat(repeat('a', 1000), toString(number)) AS s FROM numbers(1000)";
    expect(await failure(reader({ maxResultBytes: 100_000 }).select(sql, {}))).toMatchObject({
      code: 'too_large',
    });
    await expect(reader({ maxResultBytes: 10_000_000 }).select(sql, {})).resolves.toHaveLength(1000);
  });

  it('max_rows_to_read and max_bytes_to_read stop unselective scans', async () => {
    const sql = 'SELECT count() AS n FROM numbers(1000000)';
    expect(await failure(reader({ maxRowsToRead: 1000 }).select(sql, {}))).toMatchObject({
      code: 'too_large',
    });
    expect(await failure(reader({ maxBytesToRead: 1000 }).select(sql, {}))).toMatchObject({
      code: 'too_large',
    });
  });

  it('max_memory_usage bounds a query that builds a large state', async () => {
    const err = await failure(
      reader({ maxMemoryBytes: 1_000_000 }).select('SELECT groupArray(number) FROM numbers(10000000)', {}),
    );
    expect(err).toMatchObject({ code: 'too_large' });
  });

  it.each([
    ['a second statement', 'SELECT 1; DROP TABLE canary'],
    ['its own settings', 'SELECT 1 SETTINGS readonly = 0'],
    ['a write', 'INSERT INTO canary VALUES (1)'],
    ['DDL', 'DROP TABLE canary'],
  ])('refuses SQL with %s before it reaches ClickHouse', async (_name, sql) => {
    await expect(reader().select(sql, {})).rejects.toThrow(/only a single SELECT/);
    const tables = await store.query("SELECT name FROM system.tables WHERE name = 'canary'");
    expect(tables).toHaveLength(1);
  });

  it('says so when the tables are missing (migrations not applied)', async () => {
    expect(await failure(reader().select('SELECT count() FROM otel_logs', {}))).toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining('migrations'),
    });
  });

  it('refuses limits that bound nothing', () => {
    expect(() => reader({ maxResultRows: 0 })).toThrow(/max_result_rows/);
    expect(() => reader({ maxExecutionSeconds: 1.5 })).toThrow(/max_execution_time/);
  });
});
