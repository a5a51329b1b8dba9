import { randomBytes } from 'node:crypto';
import type { MonitorSpec, SilenceSpec, TargetSpec } from '../../lib/tunnel/monitors.ts';
import type { ClickhouseStore } from '../clickhouse/store.ts';
import { dt64ms } from './alertHistory.ts';

export type ConfigKind = 'monitor' | 'target' | 'silence';
type SpecOf<K extends ConfigKind> = K extends 'monitor'
  ? MonitorSpec
  : K extends 'target'
    ? TargetSpec
    : SilenceSpec;

export interface MonitorConfig {
  monitors: MonitorSpec[];
  targets: TargetSpec[];
  silences: SilenceSpec[];
}

const PREFIX: Record<ConfigKind, string> = { monitor: 'mon', target: 'tgt', silence: 'sil' };

/**
 * Monitor definitions, notification targets and silences in ClickHouse `monitor_config`
 * (db/clickhouse/0021_monitor_config.sql). The portal writes it (edge API changes) and the evaluator reads it
 * on every sync, so the two need to share nothing but ClickHouse: in a cluster they are separate workloads.
 * Each change inserts a new version of the whole object; reads take the newest version per id (argMax), exact
 * before ReplacingMergeTree merges. The SQL is constant text; ids and bodies are bound parameters.
 */
export class MonitorConfigStore {
  private lastVersion = 0;

  constructor(private readonly store: ClickhouseStore) {}

  static newId(kind: ConfigKind): string {
    return `${PREFIX[kind]}_${randomBytes(6).toString('hex')}`;
  }

  /** Strictly increasing within this process (microseconds since the epoch, bumped on ties). */
  private nextVersion(): number {
    const now = Date.now() * 1000;
    this.lastVersion = Math.max(now, this.lastVersion + 1);
    return this.lastVersion;
  }

  async put<K extends ConfigKind>(kind: K, spec: SpecOf<K>): Promise<void> {
    await this.write(kind, spec.id, JSON.stringify(spec), 0);
  }

  /** Resolves to false when no such object exists. */
  async delete(kind: ConfigKind, id: string): Promise<boolean> {
    if (!(await this.get(kind, id))) return false;
    await this.write(kind, id, '', 1);
    return true;
  }

  private async write(kind: ConfigKind, id: string, body: string, deleted: 0 | 1): Promise<void> {
    await this.store.insert('monitor_config', [
      {
        Kind: kind,
        Id: id,
        Version: this.nextVersion(),
        Deleted: deleted,
        Body: body,
        UpdatedAt: dt64ms(Date.now()),
      },
    ]);
  }

  async get<K extends ConfigKind>(kind: K, id: string): Promise<SpecOf<K> | undefined> {
    const rows = await this.store.query<{ body: string }>(
      `SELECT argMax(Body, Version) AS body, argMax(Deleted, Version) AS deleted
FROM monitor_config WHERE Kind = {kind:String} AND Id = {id:String}
GROUP BY Id HAVING deleted = 0`,
      { kind, id },
    );
    return rows[0] ? (JSON.parse(rows[0].body) as SpecOf<K>) : undefined;
  }

  async list<K extends ConfigKind>(kind: K): Promise<SpecOf<K>[]> {
    const rows = await this.store.query<{ body: string }>(
      `SELECT Id, argMax(Body, Version) AS body, argMax(Deleted, Version) AS deleted
FROM monitor_config WHERE Kind = {kind:String}
GROUP BY Id HAVING deleted = 0 ORDER BY Id`,
      { kind },
    );
    return rows.map((r) => JSON.parse(r.body) as SpecOf<K>);
  }

  async load(): Promise<MonitorConfig> {
    const [monitors, targets, silences] = await Promise.all([
      this.list('monitor'),
      this.list('target'),
      this.list('silence'),
    ]);
    return { monitors, targets, silences };
  }
}
