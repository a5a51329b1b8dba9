import type { Command } from 'commander';
import { MIGRATIONS_DIR, migrate } from '../../incloud/clickhouse/migrations.ts';
import {
  addRetentionOptions,
  addStoreOptions,
  openStore,
  type RetentionFlags,
  retentionOf,
  type StoreFlags,
} from '../../incloud/commandOptions.ts';
import { defaultDataDir } from '../options.ts';

export function register(program: Command): void {
  const cmd = program
    .command('migrate')
    .description(
      'apply the ClickHouse migrations (db/clickhouse/NNNN_*.sql: otel_logs, otel_traces, the trace-id lookup, ' +
        'k8s_events) to the embedded ClickHouse or a server, and set each table TTL from the retention options. ' +
        'Idempotent: applied migrations are recorded in schema_migrations and skipped. The embedded ClickHouse ' +
        'can be opened by one process only: stop `understory incloud` first (it migrates on start anyway).',
    )
    .option('--dir <dir>', 'directory of migration files', MIGRATIONS_DIR);
  addStoreOptions(cmd, defaultDataDir());
  addRetentionOptions(cmd).action(async (opts: StoreFlags & RetentionFlags & { dir: string }) => {
    const store = openStore(opts);
    try {
      const r = await migrate(store, { dir: opts.dir, retention: retentionOf(opts) });
      process.stdout.write(
        `${JSON.stringify({ backend: store.kind, applied: r.applied, alreadyApplied: r.alreadyApplied.length, retentionChanged: r.retentionChanged })}\n`,
      );
    } finally {
      await store.close();
    }
  });
}
