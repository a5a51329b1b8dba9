import type { Command } from 'commander';
import { MIGRATIONS_DIR, migrate, renderMigrations } from '../../incloud/clickhouse/migrations.ts';
import {
  checkReplicatedTarget,
  createDatabaseSql,
  createReplicatedDatabase,
  type ReplicatedTarget,
} from '../../incloud/clickhouse/replicated.ts';
import {
  addRetentionOptions,
  addStoreOptions,
  openStore,
  type RetentionFlags,
  retentionOf,
  type StoreFlags,
} from '../../incloud/commandOptions.ts';
import { defaultDataDir } from '../options.ts';

interface Options extends StoreFlags, RetentionFlags {
  dir: string;
  replicated?: boolean;
  cluster?: string;
  print?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('migrate')
    .description(
      'apply the ClickHouse migrations (db/clickhouse/NNNN_*.sql: otel_logs, otel_traces, the trace-id lookup, ' +
        'k8s_events, alert history) to the embedded ClickHouse or a server, and set each table TTL from the ' +
        'retention options. Idempotent: applied migrations are recorded in schema_migrations and skipped. The ' +
        'embedded ClickHouse can be opened by one process only: stop `understory incloud` first (it migrates on ' +
        'start anyway). With --replicated (a ClickHouse cluster with Keeper, as the Helm chart runs it) the ' +
        'database is created ON CLUSTER with the Replicated engine and every table gets a Replicated*MergeTree ' +
        'engine.',
    )
    .option('--dir <dir>', 'directory of migration files', MIGRATIONS_DIR)
    .option(
      '--replicated',
      'replicated cluster mode: create --clickhouse-database ON CLUSTER (engine Replicated) through the ' +
        'default database, then migrate it with Replicated*MergeTree engines; needs --clickhouse-url and --cluster',
    )
    .option('--cluster <name>', "with --replicated: the cluster name in the servers' remote_servers")
    .option('--print', 'print the statements that would run (after rendering) and exit; touches no store');
  addStoreOptions(cmd, defaultDataDir());
  addRetentionOptions(cmd)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  understory migrate --clickhouse-url http://clickhouse:8123 --clickhouse-password-file /run/secrets/ch\n' +
        '  understory migrate --replicated --cluster understory --clickhouse-database understory \\\n' +
        '    --clickhouse-url http://clickhouse:8123 --clickhouse-password-file /run/secrets/ch\n' +
        '  understory migrate --replicated --cluster understory --clickhouse-database understory --print\n',
    )
    .action(async (opts: Options) => {
      let target: ReplicatedTarget | undefined;
      try {
        target = replicatedTarget(opts);
      } catch (err) {
        process.stderr.write(`cannot migrate: ${(err as Error).message}\n`);
        process.exitCode = 1;
        return;
      }
      const retention = retentionOf(opts);
      if (opts.print) {
        if (target) process.stdout.write(`-- database\n${createDatabaseSql(target)};\n\n`);
        for (const [id, sql] of renderMigrations({ dir: opts.dir, retention, replicated: !!target })) {
          process.stdout.write(`-- ${id}\n${sql.trim()};\n\n`);
        }
        return;
      }
      if (target) {
        const admin = openStore({ ...opts, clickhouseDatabase: 'default' });
        try {
          await createReplicatedDatabase(admin, target);
        } finally {
          await admin.close();
        }
      }
      const store = openStore(opts);
      try {
        const r = await migrate(store, { dir: opts.dir, retention, replicated: !!target });
        process.stdout.write(
          `${JSON.stringify({ backend: store.kind, ...(target ? { replicated: target.cluster } : {}), applied: r.applied, alreadyApplied: r.alreadyApplied.length, retentionChanged: r.retentionChanged })}\n`,
        );
      } finally {
        await store.close();
      }
    });
}

function replicatedTarget(opts: Options): ReplicatedTarget | undefined {
  if (!opts.replicated) {
    if (opts.cluster) throw new Error('--cluster needs --replicated');
    return undefined;
  }
  if (!opts.cluster) throw new Error('--replicated needs --cluster <name>');
  if (!opts.clickhouseUrl && !opts.print) {
    throw new Error(
      '--replicated needs a ClickHouse server (--clickhouse-url): the embedded one cannot replicate',
    );
  }
  return checkReplicatedTarget({ cluster: opts.cluster, database: opts.clickhouseDatabase });
}
