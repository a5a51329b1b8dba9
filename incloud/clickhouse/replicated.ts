import type { ClickhouseStore } from './store.ts';

/**
 * Replicated mode (the Helm chart's `clickhouse.mode: replicated`: one shard, N replicas, ClickHouse Keeper).
 * The database is created ON CLUSTER with the `Replicated` database engine, which then replays every DDL of
 * the migrations on every replica itself; tables must use `Replicated*MergeTree` engines (with no arguments:
 * the Replicated database fills in the Keeper path and replica name), or their data would stay on the one
 * replica that received an insert. The migration files stay as they are (the single-server and chdb form) and
 * are rewritten at render time here, so both modes run the same schema.
 */
export interface ReplicatedTarget {
  /** `remote_servers` cluster name (the chart's is `understory`). */
  cluster: string;
  /** The database to create (not `default`, whose engine cannot change). */
  database: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const ENGINE = /\bENGINE\s*=\s*([A-Za-z]*)MergeTree\s*\(/g;

/** Validates names before they meet SQL text: identifiers only, so nothing can be injected. */
export function checkReplicatedTarget(t: ReplicatedTarget): ReplicatedTarget {
  if (!IDENTIFIER.test(t.cluster))
    throw new Error(`cannot use cluster name "${t.cluster}": letters, digits, _`);
  if (!IDENTIFIER.test(t.database))
    throw new Error(`cannot use database name "${t.database}": letters, digits, _`);
  if (t.database === 'default') {
    throw new Error('cannot migrate the default database as replicated: give --clickhouse-database <name>');
  }
  return t;
}

/** The statement that creates the Replicated database on every node of the cluster. */
export function createDatabaseSql(t: ReplicatedTarget): string {
  checkReplicatedTarget(t);
  return (
    `CREATE DATABASE IF NOT EXISTS ${t.database} ON CLUSTER '${t.cluster}' ` +
    `ENGINE = Replicated('/clickhouse/${t.cluster}/databases/${t.database}', '{shard}', '{replica}')`
  );
}

/**
 * One rendered migration statement for a Replicated database: every `XMergeTree(args)` engine becomes
 * `ReplicatedXMergeTree(args)`. A CREATE TABLE left without a replicated engine is refused.
 */
export function replicatedSql(sql: string): string {
  const out = sql.replace(ENGINE, (all, kind: string) =>
    kind.startsWith('Replicated') ? all : `ENGINE = Replicated${kind}MergeTree(`,
  );
  if (/\bCREATE\s+TABLE\b/i.test(out) && !/\bENGINE\s*=\s*Replicated[A-Za-z]*MergeTree\(/.test(out)) {
    throw new Error('cannot make a statement replicated: its CREATE TABLE has no MergeTree-family engine');
  }
  return out;
}

/** Creates the Replicated database through a connection to another database (e.g. `default`). */
export async function createReplicatedDatabase(admin: ClickhouseStore, t: ReplicatedTarget): Promise<void> {
  await admin.exec(createDatabaseSql(t));
}
