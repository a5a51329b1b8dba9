/**
 * One ClickHouse store interface with two backends that run the same SQL:
 * - `ChdbStore`: embedded ClickHouse (chdb) for one machine; data lives in the data directory.
 * - `ServerStore`: a ClickHouse server over HTTP through `@clickhouse/client` (clusters).
 *
 * Parameters are always bound (`{name:Type}` placeholders), never concatenated into SQL text. Table names
 * given to `insert` are checked against `IDENTIFIER` because they cannot be bound.
 */
export interface ClickhouseStore {
  readonly kind: 'chdb' | 'server';
  /** Runs a statement that returns no rows (DDL, INSERT ... SELECT). */
  exec(sql: string, params?: Record<string, unknown>): Promise<void>;
  /** Runs a query and returns its rows as objects (JSONEachRow). */
  query<T = Record<string, unknown>>(sql: string, params?: Record<string, unknown>): Promise<T[]>;
  /**
   * Inserts rows (JSONEachRow objects keyed by column name) as ONE insert. Resolves once ClickHouse has
   * written the data part, i.e. the rows are durable as far as the server promises. `settings` are
   * per-insert ClickHouse settings (e.g. `insert_deduplication_token`). The caller keeps ownership of `rows`.
   */
  insert(table: string, rows: readonly Record<string, unknown>[], settings?: InsertSettings): Promise<void>;
  /** Cheap liveness probe. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type InsertSettings = Record<string, string | number>;

/** A plain ClickHouse identifier, optionally `db.table`. */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

export function checkIdentifier(name: string): string {
  if (!IDENTIFIER.test(name))
    throw new Error(`cannot use table name ${JSON.stringify(name)}: not an identifier`);
  return name;
}

/** Rows as JSONEachRow text: one JSON object per line. BigInts become decimal strings (ClickHouse accepts them). */
export function toJsonEachRow(rows: readonly Record<string, unknown>[]): string {
  let out = '';
  for (const row of rows) out += `${JSON.stringify(row, bigintAsString)}\n`;
  return out;
}

export function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
