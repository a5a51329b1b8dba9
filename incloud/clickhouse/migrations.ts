import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { logger } from '../../lib/log.ts';
import { replicatedSql } from './replicated.ts';
import { DEFAULT_RETENTION, type Retention, retentionParams } from './retention.ts';
import type { ClickhouseStore } from './store.ts';

/** The project's ClickHouse migrations: `db/clickhouse/NNNN_name.sql`, one statement per file. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../db/clickhouse/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  /** The file's text with `{{placeholders}}` still in it. */
  template: string;
  /** sha256 of the template, so a retention change does not look like an edited migration. */
  checksum: string;
}

export interface MigrateOptions {
  dir?: string;
  retention?: Retention;
  /** Extra placeholder values (tests); merged over the retention ones. Integers only. */
  params?: Record<string, number>;
  /**
   * The store's database uses the `Replicated` engine (see replicated.ts, which also creates it): engines
   * are rewritten to Replicated*MergeTree.
   */
  replicated?: boolean;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
  retentionChanged: string[];
}

const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;
const PLACEHOLDER = /\{\{([a-z_]+)\}\}/g;
const log = logger('migrate');

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const seen = new Set<number>();
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => {
      const m = FILE.exec(f);
      if (!m) throw new Error(`cannot load migration ${f}: name must look like 0001_create_table.sql`);
      const version = Number(m[1]);
      if (seen.has(version)) throw new Error(`cannot load migration ${f}: version ${version} is used twice`);
      seen.add(version);
      const template = readFileSync(join(dir, f), 'utf8');
      return {
        version,
        name: m[2]!,
        template,
        checksum: createHash('sha256').update(template).digest('hex'),
      };
    });
}

/** Every migration as it would be executed (goldens and `migrate --print`): `[id, sql]` in order. */
export function renderMigrations(opts: MigrateOptions = {}): [string, string][] {
  const params = { ...retentionParams(opts.retention ?? DEFAULT_RETENTION), ...opts.params };
  return loadMigrations(opts.dir ?? MIGRATIONS_DIR).map((m) => {
    const sql = renderSql(m.template, params);
    return [`${String(m.version).padStart(4, '0')}_${m.name}`, opts.replicated ? replicatedSql(sql) : sql];
  });
}

/**
 * Substitutes `{{name}}` placeholders. Values are checked to be safe integers here, at the only place where
 * configuration meets SQL text, so no configuration value can inject SQL; an unknown placeholder is an error.
 */
export function renderSql(template: string, params: Record<string, number>): string {
  return template.replace(PLACEHOLDER, (_all, name: string) => {
    const v = params[name];
    if (v === undefined) throw new Error(`cannot render SQL: no value for placeholder {{${name}}}`);
    if (!Number.isSafeInteger(v))
      throw new Error(`cannot render SQL: {{${name}}} must be an integer, got ${v}`);
    return String(v);
  });
}

const SCHEMA_MIGRATIONS = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version UInt32, name String, checksum String, applied_at DateTime
) ENGINE = MergeTree() ORDER BY version`;

/**
 * Applies the migrations not yet recorded in `schema_migrations`, in version order, on either backend.
 * Every file is idempotent (IF NOT EXISTS), so a run interrupted between a statement and its record is safe
 * to repeat. A recorded migration whose file changed is refused: schemas move forward with new files.
 * Afterwards the configured retention is compared with each table's TTL and changed where it differs.
 */
export async function migrate(store: ClickhouseStore, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const dir = opts.dir ?? MIGRATIONS_DIR;
  const params = { ...retentionParams(opts.retention ?? DEFAULT_RETENTION), ...opts.params };
  const migrations = loadMigrations(dir);
  const sqlOf = (template: string) => {
    const sql = renderSql(template, params);
    return opts.replicated ? replicatedSql(sql) : sql;
  };
  await store.exec(opts.replicated ? replicatedSql(SCHEMA_MIGRATIONS) : SCHEMA_MIGRATIONS);
  const done = new Map<number, { name: string; checksum: string }>();
  for (const r of await store.query<{ version: number; name: string; checksum: string }>(
    'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
  )) {
    done.set(Number(r.version), r);
  }
  const result: MigrateResult = { applied: [], alreadyApplied: [], retentionChanged: [] };
  for (const m of migrations) {
    const id = `${String(m.version).padStart(4, '0')}_${m.name}`;
    const prev = done.get(m.version);
    if (prev) {
      if (prev.checksum !== m.checksum) {
        throw new Error(
          `cannot migrate: ${id} was changed after it was applied; add a new migration instead`,
        );
      }
      result.alreadyApplied.push(id);
      continue;
    }
    try {
      await store.exec(sqlOf(m.template));
    } catch (err) {
      throw new Error(`cannot apply migration ${id}: ${(err as Error).message}`, { cause: err });
    }
    await store.insert('schema_migrations', [
      { version: m.version, name: m.name, checksum: m.checksum, applied_at: Math.floor(Date.now() / 1000) },
    ]);
    result.applied.push(id);
    log.info({ migration: id, backend: store.kind }, 'applied migration');
  }
  const retentionDir = join(dir, 'retention');
  if (existsSync(retentionDir)) result.retentionChanged = await applyRetention(store, retentionDir, params);
  return result;
}

const TTL_DAYS = /toIntervalDay\((\d+)\)/;

/** Runs `retention/<table>.sql` (ALTER TABLE ... MODIFY TTL) for each table whose TTL differs from config. */
async function applyRetention(
  store: ClickhouseStore,
  dir: string,
  params: Record<string, number>,
): Promise<string[]> {
  const changed: string[] = [];
  for (const f of readdirSync(dir)
    .filter((x) => x.endsWith('.sql'))
    .sort()) {
    const table = basename(f, '.sql');
    const sql = renderSql(readFileSync(join(dir, f), 'utf8'), params);
    const wanted = TTL_DAYS.exec(sql)?.[1];
    const rows = await store.query<{ engine_full: string }>(
      'SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = {table:String}',
      { table },
    );
    const current = TTL_DAYS.exec(rows[0]?.engine_full ?? '')?.[1];
    if (rows.length === 0 || current === wanted) continue;
    await store.exec(sql);
    changed.push(table);
    log.info({ table, from: current, to: wanted }, 'changed retention');
  }
  return changed;
}
