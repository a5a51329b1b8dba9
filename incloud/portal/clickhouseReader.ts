import type { ClickhouseStore } from '../clickhouse/store.ts';
import type { PortalLimits } from './limits.ts';
import { QueryError } from './query.ts';

/**
 * The portal's only way to ClickHouse: read-only, bounded SELECTs. Each query gets a SETTINGS clause built
 * from `PortalLimits.clickhouse` (integers checked at start-up, so the clause holds no outside text):
 *
 *   readonly = 1            writes, DDL, setting changes and table functions such as file()/url() refused
 *   max_execution_time      seconds; TIMEOUT_EXCEEDED
 *   max_result_rows/bytes   with result_overflow_mode = 'throw'; TOO_MANY_ROWS_OR_BYTES
 *   max_rows_to_read        and max_bytes_to_read: the scan bound; TOO_MANY_ROWS / TOO_MANY_BYTES
 *   max_memory_usage        MEMORY_LIMIT_EXCEEDED
 *
 * All of them are honoured by chdb 3.4 (ClickHouse 26.7) and proven in clickhouseReader.test.ts, with one
 * caveat found there: max_result_bytes counts a constant column once, so it does not bound a result made of
 * one repeated literal; the queries here select columns, and every query also carries its own LIMIT.
 *
 * chdb runs several `;`-separated statements in one call (a DROP after a SELECT is executed), so SQL that
 * contains `;` is refused here; user text only ever travels as bound parameters anyway.
 */
export class ClickhouseReader {
  /** Every setting but max_execution_time, which each query may lower to its own deadline. */
  private readonly settings: string;
  private readonly maxExecutionSeconds: number;

  constructor(
    private readonly store: ClickhouseStore,
    limits: PortalLimits['clickhouse'],
  ) {
    const n = (name: string, v: number) => {
      if (!Number.isSafeInteger(v) || v <= 0)
        throw new Error(`cannot use ClickHouse limit ${name}: must be a positive integer, got ${v}`);
      return `${name} = ${v}`;
    };
    n('max_execution_time', limits.maxExecutionSeconds);
    this.maxExecutionSeconds = limits.maxExecutionSeconds;
    this.settings = [
      'readonly = 1',
      n('max_result_rows', limits.maxResultRows),
      n('max_result_bytes', limits.maxResultBytes),
      "result_overflow_mode = 'throw'",
      n('max_rows_to_read', limits.maxRowsToRead),
      n('max_bytes_to_read', limits.maxBytesToRead),
      n('max_memory_usage', limits.maxMemoryBytes),
    ].join(', ');
  }

  /**
   * Runs one compiled SELECT with bound `params`. Rejects with QueryError for limits (`timeout`, `too_large`)
   * so the caller sees why; other ClickHouse errors are internal. `ctx.signal` stops waiting (chdb cannot
   * interrupt a running query); `ctx.timeoutMs` lowers max_execution_time to the request's deadline, so
   * ClickHouse stops the work when nobody can get the answer any more.
   */
  async select<T>(
    sql: string,
    params: Record<string, unknown>,
    ctx: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<T[]> {
    const text = sql.trim();
    if (!/^(SELECT|WITH)\b/i.test(text) || text.includes(';') || /\bSETTINGS\b/i.test(text))
      throw new Error(
        'cannot run ClickHouse query: only a single SELECT without its own SETTINGS is allowed',
      );
    ctx.signal?.throwIfAborted();
    const seconds = Math.min(
      this.maxExecutionSeconds,
      Math.max(1, Math.ceil((ctx.timeoutMs ?? Number.POSITIVE_INFINITY) / 1000)),
    );
    try {
      return await this.store.query<T>(
        `${text}\nSETTINGS ${this.settings}, max_execution_time = ${seconds}`,
        params,
      );
    } catch (err) {
      throw classify(err);
    }
  }
}

const LIMIT_ERRORS: [RegExp, QueryError['code'], string][] = [
  [
    /\(TIMEOUT_EXCEEDED\)/,
    'timeout',
    'the query ran longer than the portal allows; narrow the time range or add filters',
  ],
  [/\(TOO_MANY_ROWS_OR_BYTES\)/, 'too_large', 'the result is larger than the portal allows; lower the limit'],
  [
    /\((TOO_MANY_ROWS|TOO_MANY_BYTES)\)/,
    'too_large',
    'the query would scan more data than the portal allows; narrow the time range or add filters',
  ],
  [
    /\(MEMORY_LIMIT_EXCEEDED\)/,
    'too_large',
    'the query needs more memory than the portal allows; narrow the time range or add filters',
  ],
  [/\(READONLY\)/, 'bad_request', 'the query tried to write or to use a table function'],
  [
    /\(UNKNOWN_TABLE\)/,
    'unavailable',
    'the ClickHouse tables are not there yet: apply the migrations (db/clickhouse)',
  ],
];

function classify(err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  for (const [pattern, code, text] of LIMIT_ERRORS)
    if (pattern.test(message)) return new QueryError(code, text);
  return err instanceof Error ? err : new Error(message);
}
