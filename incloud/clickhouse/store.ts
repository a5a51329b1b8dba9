/**
 * One ClickHouse store interface with two backends that run the same SQL:
 * - `ChdbStore`: embedded ClickHouse (chdb) for one machine; data lives in the data directory.
 * - a `@clickhouse/client` backend for a ClickHouse server in a cluster.
 *
 * Parameters are always bound (`{name:Type}` placeholders), never concatenated into SQL text.
 */
export interface ClickhouseStore {
  readonly kind: 'chdb' | 'server';
  /** Runs a statement that returns no rows (DDL, INSERT ... SELECT). */
  exec(sql: string, params?: Record<string, unknown>): Promise<void>;
  /** Runs a query and returns its rows as objects (JSONEachRow). */
  query<T = Record<string, unknown>>(sql: string, params?: Record<string, unknown>): Promise<T[]>;
  /** Cheap liveness probe. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
