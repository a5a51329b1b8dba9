import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChdbStore } from './chdbStore.ts';
import { loadMigrations, MIGRATIONS_DIR, migrate, renderSql } from './migrations.ts';

describe('ClickHouse migrations on chdb (the full schema)', () => {
  let dir: string;
  let store: ChdbStore;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'understory-migrate-'));
    store = new ChdbStore(join(dir, 'ch'));
    store.open();
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies every migration once, then nothing on a second run', async () => {
    const first = await migrate(store, { retention: { tracesDays: 3, logsDays: 5, eventsDays: 9 } });
    expect(first.applied).toEqual(
      loadMigrations().map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`),
    );
    const second = await migrate(store, { retention: { tracesDays: 3, logsDays: 5, eventsDays: 9 } });
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toHaveLength(first.applied.length);
    expect(second.retentionChanged).toEqual([]);
    const tables = await store.query<{ name: string; engine_full: string }>(
      "SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() AND name != 'schema_migrations' ORDER BY name",
    );
    expect(tables.map((t) => t.name)).toEqual([
      'alert_history',
      'k8s_events',
      'monitor_config',
      'otel_logs',
      'otel_traces',
      'otel_traces_trace_id_ts',
      'otel_traces_trace_id_ts_mv',
    ]);
    const ttl = Object.fromEntries(
      tables.map((t) => [t.name, /toIntervalDay\((\d+)\)/.exec(t.engine_full)?.[1]]),
    );
    expect(ttl).toMatchObject({
      otel_logs: '5',
      otel_traces: '3',
      otel_traces_trace_id_ts: '3',
      k8s_events: '9',
    });
  });

  it('has the OpenTelemetry Collector exporter column types', async () => {
    const cols = await store.query<{ name: string; type: string }>(
      "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 'otel_traces' ORDER BY position",
    );
    const types = Object.fromEntries(cols.map((c) => [c.name, c.type]));
    expect(types).toMatchObject({
      Timestamp: 'DateTime64(9)',
      Duration: 'UInt64',
      SpanKind: 'LowCardinality(String)',
      ResourceAttributes: 'Map(LowCardinality(String), String)',
      'Events.Timestamp': 'Array(DateTime64(9))',
      'Links.Attributes': 'Array(Map(LowCardinality(String), String))',
    });
    const logCols = await store.query<{ name: string; type: string }>(
      "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 'otel_logs' ORDER BY position",
    );
    expect(logCols.map((c) => c.name)).toEqual([
      'Timestamp',
      'TimestampTime',
      'TraceId',
      'SpanId',
      'TraceFlags',
      'SeverityText',
      'SeverityNumber',
      'ServiceName',
      'Body',
      'ResourceSchemaUrl',
      'ResourceAttributes',
      'ScopeSchemaUrl',
      'ScopeName',
      'ScopeVersion',
      'ScopeAttributes',
      'LogAttributes',
      'EventName',
    ]);
  });

  it('changes the TTL when the configured retention changes', async () => {
    const r = await migrate(store, { retention: { tracesDays: 3, logsDays: 12, eventsDays: 9 } });
    expect(r.retentionChanged).toEqual(['otel_logs']);
    const [row] = await store.query<{ engine_full: string }>(
      "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'otel_logs'",
    );
    expect(row?.engine_full).toContain('toIntervalDay(12)');
  });

  it('drops a retried insert with the same deduplication token (also in the trace-id lookup view)', async () => {
    const nowS = Math.floor(Date.now() / 1000); // inside the TTL: an expired row is dropped on insert
    const row = {
      Timestamp: `${nowS}.000000001`,
      TraceId: 'aa',
      SpanId: 'bb',
      SpanName: 'GET /x',
      ServiceName: 'svc',
      'Events.Timestamp': [`${nowS}.5`],
      'Events.Name': ['ev'],
      'Events.Attributes': [{ k: 'v' }],
    };
    const settings = {
      insert_deduplication_token: 'batch-1',
      deduplicate_blocks_in_dependent_materialized_views: 1,
    };
    await store.insert('otel_traces', [row], settings);
    await store.insert('otel_traces', [row], settings);
    await store.insert('otel_traces', [row], { ...settings, insert_deduplication_token: 'batch-2' });
    const [c] = await store.query<{ n: string }>("SELECT count() AS n FROM otel_traces WHERE TraceId = 'aa'");
    expect(Number(c?.n)).toBe(2);
    const [l] = await store.query<{ n: string }>(
      "SELECT count() AS n FROM otel_traces_trace_id_ts WHERE TraceId = 'aa'",
    );
    expect(Number(l?.n)).toBe(2);
    const [e] = await store.query<{ name: string }>(
      "SELECT Events.Name[1] AS name FROM otel_traces WHERE TraceId = 'aa' LIMIT 1",
    );
    expect(e?.name).toBe('ev');
  });

  it('refuses a migration that was edited after it was applied', async () => {
    const copy = join(dir, 'edited');
    cpSync(MIGRATIONS_DIR, copy, { recursive: true });
    writeFileSync(join(copy, '0005_k8s_events.sql'), 'SELECT 1');
    await expect(migrate(store, { dir: copy })).rejects.toThrow(
      /0005_k8s_events was changed after it was applied/,
    );
  });
});

describe('renderSql', () => {
  it.each([['TTL x + toIntervalDay({{ttl_days_logs}})', { ttl_days_logs: 7 }, 'TTL x + toIntervalDay(7)']])(
    'substitutes %s',
    (tpl, params, want) => expect(renderSql(tpl, params)).toBe(want),
  );
  it('rejects unknown placeholders and non-integers', () => {
    expect(() => renderSql('{{nope}}', {})).toThrow(/no value for placeholder \{\{nope\}\}/);
    expect(() => renderSql('{{a}}', { a: 1.5 })).toThrow(/must be an integer/);
  });
  it('rejects invalid retention before touching SQL', async () => {
    const { retentionParams } = await import('./retention.ts');
    expect(() => retentionParams({ tracesDays: 0, logsDays: 1, eventsDays: 1 })).toThrow(/tracesDays=0/);
  });
});
