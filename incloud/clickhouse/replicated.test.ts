import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { renderMigrations } from './migrations.ts';
import { checkReplicatedTarget, createDatabaseSql, replicatedSql } from './replicated.ts';

// The replicated-mode DDL as text: golden file plus rules. No ClickHouse here can run it (Debian's 18.16 has
// neither the Replicated database engine nor Keeper, and chdb has no Keeper), so the golden is what a
// reviewer checks against the ClickHouse docs; the chart's cluster scenario runs exactly this command.
const GOLDEN = fileURLToPath(new URL('./testdata/replicated/schema.sql', import.meta.url));
const CLI = fileURLToPath(new URL('../../bin/understory.mjs', import.meta.url));
const run = promisify(execFile);

describe('replicated migrations', () => {
  it('renders the whole schema for the chart cluster as in the golden file', async () => {
    const { stdout } = await run(process.execPath, [
      CLI,
      'migrate',
      '--replicated',
      '--cluster',
      'understory',
      '--clickhouse-database',
      'understory',
      '--print',
    ]);
    if (process.env.UPDATE_GOLDENS === '1' || !existsSync(GOLDEN)) {
      if (process.env.UPDATE_GOLDENS !== '1')
        throw new Error(`no golden ${GOLDEN}: run with UPDATE_GOLDENS=1`);
      writeFileSync(GOLDEN, stdout);
    }
    expect(stdout).toBe(readFileSync(GOLDEN, 'utf8'));
    // Every table is replicated; nothing plain is left for the Replicated database to refuse.
    const rendered = renderMigrations({ replicated: true });
    for (const [id, sql] of rendered.filter(([, s]) => /CREATE TABLE/.test(s))) {
      expect({ id, replicated: /ENGINE = Replicated\w*MergeTree\(/.test(sql) }).toEqual({
        id,
        replicated: true,
      });
      expect({ id, plain: /ENGINE = (Replacing)?MergeTree\(/.test(sql) }).toEqual({ id, plain: false });
    }
    expect(rendered.map(([id]) => id)).toEqual(renderMigrations().map(([id]) => id));
  }, 60_000);

  it.each([
    ['ENGINE = MergeTree()', 'ENGINE = ReplicatedMergeTree()'],
    ['ENGINE = ReplacingMergeTree(Version)', 'ENGINE = ReplicatedReplacingMergeTree(Version)'],
    ['ENGINE=SummingMergeTree (x)', 'ENGINE = ReplicatedSummingMergeTree(x)'],
    ['ENGINE = ReplicatedMergeTree()', 'ENGINE = ReplicatedMergeTree()'],
    ['CREATE MATERIALIZED VIEW v TO t AS SELECT 1', 'CREATE MATERIALIZED VIEW v TO t AS SELECT 1'],
  ])('rewrites %s', (sql, want) => {
    expect(replicatedSql(sql)).toBe(want);
  });

  it('refuses tables it cannot make replicated, and names that are not identifiers', () => {
    expect(() => replicatedSql('CREATE TABLE t (a UInt8) ENGINE = Log')).toThrow(
      /no MergeTree-family engine/,
    );
    expect(() => checkReplicatedTarget({ cluster: "x' OR 1", database: 'db' })).toThrow(/cluster name/);
    expect(() => checkReplicatedTarget({ cluster: 'c', database: 'a-b' })).toThrow(/database name/);
    expect(() => checkReplicatedTarget({ cluster: 'c', database: 'default' })).toThrow(
      /--clickhouse-database/,
    );
    expect(createDatabaseSql({ cluster: 'c1', database: 'obs' })).toBe(
      "CREATE DATABASE IF NOT EXISTS obs ON CLUSTER 'c1' ENGINE = Replicated('/clickhouse/c1/databases/obs', '{shard}', '{replica}')",
    );
  });

  it('the command refuses --replicated without a cluster or a server', async () => {
    const fail = (args: string[]) =>
      run(process.execPath, [CLI, 'migrate', ...args]).then(
        () => '',
        (err: { stderr: string }) => err.stderr,
      );
    expect(await fail(['--replicated', '--clickhouse-database', 'obs', '--print'])).toMatch(
      /cannot migrate: --replicated needs --cluster <name>/,
    );
    expect(await fail(['--replicated', '--cluster', 'c', '--clickhouse-database', 'obs'])).toMatch(
      /needs a ClickHouse server/,
    );
  }, 60_000);
});
