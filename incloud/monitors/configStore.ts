import { randomBytes } from 'node:crypto';
import type { MonitorSpec, SilenceSpec, TargetSpec } from '../../lib/tunnel/monitors.ts';
import type { ClickhouseStore } from '../clickhouse/store.ts';
import { dt64ms } from './alertHistory.ts';
import { TargetSecretError, type TargetSecretKeys } from './targetSecrets.ts';

export type ConfigKind = 'monitor' | 'target' | 'silence';

/**
 * A notification target as stored: what any API may show in clear, the URL and headers sealed (targetSecrets.ts).
 * Rows written before targets were encrypted carry `url` and `headers` in clear instead of `sealed`; they are
 * still read, and the evaluator re-seals them on its next sync.
 */
export interface StoredTarget {
  id: string;
  name: string;
  type: TargetSpec['type'];
  host: string;
  headerNames: string[];
  sealed?: string;
  url?: string;
  headers?: Record<string, string>;
}

type SpecOf<K extends ConfigKind> = K extends 'monitor'
  ? MonitorSpec
  : K extends 'target'
    ? StoredTarget
    : SilenceSpec;
type InputOf<K extends ConfigKind> = K extends 'target' ? TargetSpec : SpecOf<K>;

export interface MonitorConfig {
  monitors: MonitorSpec[];
  /** Targets whose secrets opened. */
  targets: TargetSpec[];
  /** Targets whose secrets did not open (no key, wrong key, altered bytes), with why; never dropped or rewritten. */
  unreadableTargets: { id: string; error: string }[];
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

  /** `keys` seal targets on write and open them on load; without them targets can be listed, not written. */
  constructor(
    private readonly store: ClickhouseStore,
    private readonly keys?: TargetSecretKeys,
  ) {}

  static newId(kind: ConfigKind): string {
    return `${PREFIX[kind]}_${randomBytes(6).toString('hex')}`;
  }

  /** Strictly increasing within this process (microseconds since the epoch, bumped on ties). */
  private nextVersion(): number {
    const now = Date.now() * 1000;
    this.lastVersion = Math.max(now, this.lastVersion + 1);
    return this.lastVersion;
  }

  async put<K extends ConfigKind>(kind: K, spec: InputOf<K>): Promise<void> {
    const body = kind === 'target' ? this.sealTarget(spec as TargetSpec) : spec;
    await this.write(kind, spec.id, JSON.stringify(body), 0);
  }

  /** The stored form of a target: its URL and headers sealed; the rest is what the API shows anyway. */
  private sealTarget(t: TargetSpec): StoredTarget {
    if (!this.keys)
      throw new TargetSecretError(
        `cannot store notification target ${t.id}: no secrets key is configured (--secrets-key-file or ` +
          'UNDERSTORY_MONITORS_SECRETS_KEY_FILE), and target secrets are never stored in clear',
      );
    return {
      id: t.id,
      name: t.name,
      type: t.type,
      host: new URL(t.url).host,
      headerNames: Object.keys(t.headers),
      sealed: this.keys.seal(t.id, { url: t.url, headers: t.headers }),
    };
  }

  /** Opens stored targets; the ones that do not open are reported, not dropped. */
  openTargets(stored: StoredTarget[]): Pick<MonitorConfig, 'targets' | 'unreadableTargets'> {
    const targets: TargetSpec[] = [];
    const unreadableTargets: MonitorConfig['unreadableTargets'] = [];
    for (const s of stored) {
      const base = { id: s.id, name: s.name, type: s.type };
      if (s.sealed === undefined) {
        targets.push({ ...base, url: s.url ?? '', headers: s.headers ?? {} });
        continue;
      }
      if (!this.keys) {
        unreadableTargets.push({
          id: s.id,
          error: `cannot open the secrets of target ${s.id}: no secrets key is configured (--secrets-key-file)`,
        });
        continue;
      }
      try {
        targets.push({ ...base, ...this.keys.open(s.id, s.sealed) });
      } catch (err) {
        unreadableTargets.push({ id: s.id, error: (err as Error).message });
      }
    }
    return { targets, unreadableTargets };
  }

  /**
   * Seals again, with the current key, every target stored in clear (rows from before encryption) or sealed with
   * an older key of the key file. The new row's Version is the read one + 1, so an edit the portal made meanwhile
   * (a later timestamp) still wins. Targets that do not open are left alone. Resolves to how many were re-sealed.
   */
  async resealStale(): Promise<number> {
    const keys = this.keys;
    if (!keys) return 0;
    const rows = await this.store.query<{ body: string; version: string | number }>(
      `SELECT argMax(Body, Version) AS body, max(Version) AS version, argMax(Deleted, Version) AS deleted
FROM monitor_config WHERE Kind = 'target'
GROUP BY Id HAVING deleted = 0`,
    );
    let count = 0;
    for (const row of rows) {
      const stored = JSON.parse(row.body) as StoredTarget;
      if (stored.sealed !== undefined && !keys.isStale(stored.sealed)) continue;
      const [opened] = this.openTargets([stored]).targets;
      if (!opened) continue;
      const body = JSON.stringify(this.sealTarget(opened));
      await this.write('target', stored.id, body, 0, Number(row.version) + 1);
      count++;
    }
    return count;
  }

  /**
   * Targets to seal again: stored in clear, or sealed with an older key the file still holds (a gauge for
   * rotation). Ones sealed with a key the file does not hold are unreadable, not stale.
   */
  static staleCount(stored: StoredTarget[], keys: TargetSecretKeys | undefined): number {
    return stored.filter((s) => s.sealed === undefined || keys?.isStale(s.sealed) === true).length;
  }

  /** Resolves to false when no such object exists. */
  async delete(kind: ConfigKind, id: string): Promise<boolean> {
    if (!(await this.get(kind, id))) return false;
    await this.write(kind, id, '', 1);
    return true;
  }

  private async write(
    kind: ConfigKind,
    id: string,
    body: string,
    deleted: 0 | 1,
    version?: number,
  ): Promise<void> {
    await this.store.insert('monitor_config', [
      {
        Kind: kind,
        Id: id,
        Version: version ?? this.nextVersion(),
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

  /** Everything the evaluator needs, targets opened; `storedTargets` as read (for the rotation gauge). */
  async load(): Promise<MonitorConfig & { storedTargets: StoredTarget[] }> {
    const [monitors, storedTargets, silences] = await Promise.all([
      this.list('monitor'),
      this.list('target'),
      this.list('silence'),
    ]);
    return { monitors, silences, storedTargets, ...this.openTargets(storedTargets) };
  }
}
