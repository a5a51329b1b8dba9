import { mkdirSync } from 'node:fs';
import { Session } from 'chdb';
import { type ClickhouseStore, checkIdentifier, type InsertSettings, toJsonEachRow } from './store.ts';

/**
 * Embedded ClickHouse through chdb. chdb lets ONE process open a data directory (a second one fails with
 * "Cannot lock file .../status"), which is why every ClickHouse user on one machine lives in the same
 * `understory incloud` process and shares this store.
 *
 * Only the async chdb API is used: the synchronous one blocks the event loop for the whole query.
 */
export class ChdbStore implements ClickhouseStore {
  readonly kind = 'chdb' as const;
  private session: Session | undefined;

  constructor(private readonly dataDir: string) {}

  open(): void {
    if (this.session) return;
    mkdirSync(this.dataDir, { recursive: true });
    try {
      this.session = new Session(this.dataDir);
    } catch (err) {
      throw new Error(`cannot open embedded ClickHouse in ${this.dataDir}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  private get s(): Session {
    if (!this.session) throw new Error('cannot query embedded ClickHouse: store is not open');
    return this.session;
  }

  async exec(sql: string, params: Record<string, unknown> = {}): Promise<void> {
    await this.s.queryBindAsync(sql, params, { format: 'Null' });
  }

  async query<T = Record<string, unknown>>(sql: string, params: Record<string, unknown> = {}): Promise<T[]> {
    const res = await this.s.queryBindAsync(sql, params, { format: 'JSONEachRow' });
    const text = res.text();
    if (text.length === 0) return [];
    return text
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as T);
  }

  async insert(
    table: string,
    rows: readonly Record<string, unknown>[],
    settings: InsertSettings = {},
  ): Promise<void> {
    if (rows.length === 0) return;
    // Raw passthrough insert: the JSONEachRow bytes go to the engine's parser, JS builds no SQL text from data.
    await this.s.insert({
      table: checkIdentifier(table),
      values: Buffer.from(toJsonEachRow(rows)),
      format: 'JSONEachRow',
      settings,
    });
  }

  async ping(): Promise<void> {
    const rows = await this.query<{ ok: number }>('SELECT 1 AS ok');
    if (rows[0]?.ok !== 1) throw new Error('cannot ping embedded ClickHouse: unexpected answer');
  }

  async close(): Promise<void> {
    this.session?.close();
    this.session = undefined;
  }
}
