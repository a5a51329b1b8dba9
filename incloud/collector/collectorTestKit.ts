import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { ChdbStore } from '../clickhouse/chdbStore.ts';
import { migrate } from '../clickhouse/migrations.ts';
import type { ClickhouseStore, InsertSettings } from '../clickhouse/store.ts';
import type { RemoteSeries } from '../ingester/remoteWrite.ts';
import { type CollectorOptions, OtlpCollector } from './collector.ts';
import type { MetricsSink } from './metricsSink.ts';

/** Test support: a migrated chdb in a temp dir (retention long enough for the 2018 OTLP examples). */
export async function openTestStore(): Promise<{ store: ChdbStore; close: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'understory-collector-'));
  const store = new ChdbStore(join(dir, 'ch'));
  store.open();
  await migrate(store, { retention: { tracesDays: 3650, logsDays: 3650, eventsDays: 3650 } });
  return {
    store,
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Records what the collector forwards to the ingester (the ingester itself is tested with VictoriaMetrics). */
export class RecordingSink implements MetricsSink {
  readonly series: RemoteSeries[] = [];
  async write(series: readonly RemoteSeries[]): Promise<void> {
    this.series.push(...series);
  }
}

/**
 * A real store with injectable faults: `failNext` inserts that first WRITE and then throw (the answer of a
 * stored insert is lost), and `hold` blocks inserts until released (a slow store).
 */
export class FaultyStore implements ClickhouseStore {
  readonly kind = 'chdb' as const;
  failNext = 0;
  private held: (() => void)[] = [];
  holding = false;
  constructor(private readonly inner: ClickhouseStore) {}
  exec(sql: string, params?: Record<string, unknown>) {
    return this.inner.exec(sql, params);
  }
  query<T>(sql: string, params?: Record<string, unknown>) {
    return this.inner.query<T>(sql, params);
  }
  async insert(table: string, rows: readonly Record<string, unknown>[], settings?: InsertSettings) {
    if (this.holding) await new Promise<void>((r) => this.held.push(r));
    await this.inner.insert(table, rows, settings);
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('injected: connection reset after the write');
    }
  }
  release(): void {
    this.holding = false;
    for (const r of this.held.splice(0)) r();
  }
  ping() {
    return this.inner.ping();
  }
  close() {
    return Promise.resolve();
  }
}

export async function startCollector(
  opts: Partial<CollectorOptions> & Pick<CollectorOptions, 'store' | 'metrics'>,
): Promise<OtlpCollector> {
  const c = new OtlpCollector({ host: '127.0.0.1', port: 0, registry: new Registry(), ...opts });
  await c.start();
  return c;
}
