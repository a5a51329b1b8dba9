import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { ChdbStore } from './clickhouse/chdbStore.ts';
import { DEFAULT_RETENTION, MAX_RETENTION_DAYS, type Retention } from './clickhouse/retention.ts';
import { ServerStore } from './clickhouse/serverStore.ts';
import type { ClickhouseStore } from './clickhouse/store.ts';

/** Command-line options shared by `understory incloud`, `collector`, `ingester` and `migrate`. */
export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`not a positive integer: ${value}`);
  return n;
}

export function parseDays(value: string): number {
  const n = parsePositiveInt(value);
  if (n > MAX_RETENTION_DAYS) throw new InvalidArgumentError(`at most ${MAX_RETENTION_DAYS} days: ${value}`);
  return n;
}

export function parseList(value: string): string[] {
  return value
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}

/** `--drop-label [metricRegex:]label` may be repeated. */
export function collectDropRule(
  value: string,
  previous: { metric?: string; labels: string[] }[],
): { metric?: string; labels: string[] }[] {
  const i = value.lastIndexOf(':');
  const metric = i > 0 ? value.slice(0, i) : undefined;
  const label = i > 0 ? value.slice(i + 1) : value;
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(label)) throw new InvalidArgumentError(`not a label name: ${label}`);
  if (metric !== undefined) {
    try {
      new RegExp(metric);
    } catch {
      throw new InvalidArgumentError(`not a regular expression: ${metric}`);
    }
  }
  return [...previous, { ...(metric === undefined ? {} : { metric }), labels: [label] }];
}

export interface RetentionFlags {
  tracesRetentionDays: number;
  logsRetentionDays: number;
  eventsRetentionDays: number;
}

export function addRetentionOptions(cmd: Command): Command {
  return cmd
    .option(
      '--traces-retention-days <days>',
      'keep spans this many days (ClickHouse TTL)',
      parseDays,
      DEFAULT_RETENTION.tracesDays,
    )
    .option(
      '--logs-retention-days <days>',
      'keep logs this many days (ClickHouse TTL)',
      parseDays,
      DEFAULT_RETENTION.logsDays,
    )
    .option(
      '--events-retention-days <days>',
      'keep Kubernetes events this many days (ClickHouse TTL)',
      parseDays,
      DEFAULT_RETENTION.eventsDays,
    );
}

export function retentionOf(f: RetentionFlags): Retention {
  return {
    tracesDays: f.tracesRetentionDays,
    logsDays: f.logsRetentionDays,
    eventsDays: f.eventsRetentionDays,
  };
}

export interface StoreFlags {
  dataDir: string;
  clickhouseUrl?: string;
  clickhouseUser: string;
  clickhousePasswordFile?: string;
  clickhouseDatabase: string;
}

export function addStoreOptions(cmd: Command, defaultDataDir: string): Command {
  return cmd
    .option(
      '--data-dir <dir>',
      'embedded ClickHouse (chdb) in <dir>/clickhouse, used when no --clickhouse-url is given; one process at a time',
      defaultDataDir,
    )
    .option(
      '--clickhouse-url <url>',
      'ClickHouse server instead of the embedded one, e.g. http://clickhouse:8123',
    )
    .option('--clickhouse-user <name>', 'ClickHouse user', 'default')
    .option(
      '--clickhouse-password-file <file>',
      'file holding the ClickHouse password (or env UNDERSTORY_CLICKHOUSE_PASSWORD)',
    )
    .option('--clickhouse-database <name>', 'ClickHouse database', 'default');
}

/** Opens the store the flags name: a ClickHouse server, or chdb in the data directory. */
export function openStore(f: StoreFlags): ClickhouseStore & { open?: () => void } {
  if (f.clickhouseUrl) {
    const password = f.clickhousePasswordFile
      ? readFileSync(f.clickhousePasswordFile, 'utf8').trim()
      : (process.env.UNDERSTORY_CLICKHOUSE_PASSWORD ?? '');
    return new ServerStore({
      url: f.clickhouseUrl,
      username: f.clickhouseUser,
      password,
      database: f.clickhouseDatabase,
    });
  }
  const store = new ChdbStore(join(f.dataDir, 'clickhouse'));
  store.open();
  return store;
}
