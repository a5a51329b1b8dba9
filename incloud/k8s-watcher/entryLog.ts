import { randomUUID } from 'node:crypto';
import type { ChangeLine, Entry } from './client/types.ts';

export interface StoredChange {
  rev: number;
  key: string;
  /** Serialized entry, or undefined for a delete. Kept serialized: every watch stream writes it as is. */
  json: string | undefined;
  /** A pod with containers: its node and its JSON without them (what sensors of other nodes get). */
  scoped?: Scoped;
}

/**
 * A pod as sensors on other nodes see it. A sensor needs a pod's container ids only where the pod runs
 * (they name its local processes); elsewhere its IPs, names and workload name the pod as a peer. Most of a
 * pod's record is its containers (ids of 64 hex digits), so a node-scoped copy is much smaller.
 */
export interface Scoped {
  node: string | undefined;
  json: string;
}

export type ChangeListener = (change: StoredChange) => void;

/**
 * The published entry set with a revision counter and a bounded history of changes.
 *
 * Values are stored as their JSON text: a put with identical text is not a change (re-lists and status
 * updates that do not touch anything a sensor uses cost nothing downstream), and snapshots/streams write
 * the stored text without serializing again. History is a ring of `historyLimit` changes; a client asking
 * for an older revision gets `expired` and must take a snapshot.
 */
export class EntryLog {
  readonly epoch = randomUUID();
  private revision = 0;
  private readonly entries = new Map<string, string>();
  private readonly scoped = new Map<string, Scoped>();
  private readonly history: StoredChange[] = [];
  private historyStart = 0;
  private readonly listeners = new Set<ChangeListener>();

  constructor(private readonly historyLimit = 20_000) {}

  get rev(): number {
    return this.revision;
  }

  get size(): number {
    return this.entries.size;
  }

  put(key: string, value: Entry): void {
    const json = JSON.stringify(value);
    if (this.entries.get(key) === json) return;
    this.entries.set(key, json);
    let scoped: Scoped | undefined;
    if (value.type === 'pod' && value.containers.length > 0) {
      scoped = { node: value.node, json: JSON.stringify({ ...value, containers: [] }) };
      this.scoped.set(key, scoped);
    } else this.scoped.delete(key);
    this.record(key, json, scoped);
  }

  delete(key: string): void {
    if (!this.entries.delete(key)) return;
    this.scoped.delete(key);
    this.record(key, undefined);
  }

  get(key: string): Entry | undefined {
    const json = this.entries.get(key);
    return json === undefined ? undefined : (JSON.parse(json) as Entry);
  }

  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  /** Entries whose key starts with `prefix`, parsed. */
  *withPrefix(prefix: string): Generator<Entry> {
    for (const [k, json] of this.entries) if (k.startsWith(prefix)) yield JSON.parse(json) as Entry;
  }

  /**
   * Serialized `{key, value}` objects of the whole set, for the snapshot body; for the sensor of `node`,
   * pods of other nodes without their containers.
   */
  *snapshotLines(node?: string): Generator<string> {
    for (const [key, json] of this.entries) {
      const scoped = node === undefined ? undefined : this.scoped.get(key);
      const value = scoped !== undefined && scoped.node !== node ? scoped.json : json;
      yield `{"key":${JSON.stringify(key)},"value":${value}}`;
    }
  }

  /** Changes after `since`, or `expired` if history no longer reaches back that far. */
  changesSince(since: number): StoredChange[] | 'expired' {
    if (since > this.revision) return 'expired';
    const oldest =
      this.history.length === 0 ? this.revision + 1 : (this.history[this.historyStart]?.rev ?? 0);
    if (since + 1 < oldest) return 'expired';
    const out: StoredChange[] = [];
    const n = this.history.length;
    for (let i = 0; i < n; i++) {
      const c = this.history[(this.historyStart + i) % n]!;
      if (c.rev > since) out.push(c);
    }
    return out;
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private record(key: string, json: string | undefined, scoped?: Scoped): void {
    const change: StoredChange = { rev: ++this.revision, key, json };
    if (scoped) change.scoped = scoped;
    if (this.history.length < this.historyLimit) {
      this.history.push(change);
    } else {
      this.history[this.historyStart] = change;
      this.historyStart = (this.historyStart + 1) % this.historyLimit;
    }
    for (const l of this.listeners) l(change);
  }
}

/** The JSON line of a change on the watch stream (ends with a newline); scoped to `node` as in snapshots. */
export function changeLine(c: StoredChange, node?: string): string {
  if (c.json === undefined) return `{"rev":${c.rev},"key":${JSON.stringify(c.key)}}\n`;
  const value =
    node !== undefined && c.scoped !== undefined && c.scoped.node !== node ? c.scoped.json : c.json;
  return `{"rev":${c.rev},"key":${JSON.stringify(c.key)},"value":${value}}\n`;
}

export function heartbeatLine(rev: number): string {
  const line: ChangeLine = { rev, heartbeat: true };
  return `${JSON.stringify(line)}\n`;
}
