import { type ClickHouseClient, type ClickHouseSettings, createClient } from '@clickhouse/client';
import { bigintAsString, type ClickhouseStore, checkIdentifier, type InsertSettings } from './store.ts';

export interface ServerStoreOptions {
  /** e.g. http://clickhouse:8123 */
  url: string;
  username?: string;
  password?: string;
  database?: string;
  /** Per-request timeout; a ClickHouse insert that takes longer is reported as failed (and retried). */
  requestTimeoutMs?: number;
}

/**
 * A ClickHouse server through `@clickhouse/client` (HTTP). Used in clusters, where the real OpenTelemetry
 * Collector writes the same tables; runs the same SQL as the embedded `ChdbStore`.
 */
export class ServerStore implements ClickhouseStore {
  readonly kind = 'server' as const;
  private readonly client: ClickHouseClient;

  constructor(opts: ServerStoreOptions) {
    this.client = createClient({
      url: opts.url,
      username: opts.username ?? 'default',
      password: opts.password ?? '',
      database: opts.database ?? 'default',
      request_timeout: opts.requestTimeoutMs ?? 30_000,
      // Sessions are not needed and old servers (e.g. 18.x) do not know some settings the client may send.
      clickhouse_settings: {},
      json: { parse: JSON.parse, stringify: (v: unknown) => JSON.stringify(v, bigintAsString) },
    });
  }

  async exec(sql: string, params: Record<string, unknown> = {}): Promise<void> {
    await this.client.command({ query: sql, query_params: params });
  }

  async query<T = Record<string, unknown>>(sql: string, params: Record<string, unknown> = {}): Promise<T[]> {
    const rs = await this.client.query({ query: sql, query_params: params, format: 'JSONEachRow' });
    return rs.json<T>();
  }

  async insert(
    table: string,
    rows: readonly Record<string, unknown>[],
    settings: InsertSettings = {},
  ): Promise<void> {
    if (rows.length === 0) return;
    await this.client.insert({
      table: checkIdentifier(table),
      values: rows as Record<string, unknown>[],
      format: 'JSONEachRow',
      clickhouse_settings: settings as ClickHouseSettings,
    });
  }

  async ping(): Promise<void> {
    const r = await this.client.ping();
    if (!r.success) throw new Error(`cannot ping ClickHouse server: ${r.error.message}`);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
