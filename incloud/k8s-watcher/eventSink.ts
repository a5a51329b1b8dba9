import { errorMessage } from '../../lib/component.ts';
import type { Logger } from '../../lib/log.ts';
import type { ClickhouseStore } from '../clickhouse/store.ts';
import type { WatcherMetrics } from './metrics.ts';
import type { EventRecord } from './records.ts';

/** Columns written, in order, with their ClickHouse types (the table may have more, with defaults). */
/**
 * Columns written, in order, with their types: db/clickhouse/0005_k8s_events.sql defines the table
 * (ReplacingMergeTree by LastTimestamp, so repeated versions of one event collapse on merge).
 */
export const K8S_EVENT_COLUMNS: readonly [string, string][] = [
  ['Uid', 'String'],
  ['Namespace', 'String'],
  ['Name', 'String'],
  ['Type', 'String'],
  ['Reason', 'String'],
  ['Message', 'String'],
  ['Count', 'UInt32'],
  ['FirstTimestamp', 'DateTime64(9)'],
  ['LastTimestamp', 'DateTime64(9)'],
  ['InvolvedObjectKind', 'String'],
  ['InvolvedObjectNamespace', 'String'],
  ['InvolvedObjectName', 'String'],
  ['InvolvedObjectUid', 'String'],
  ['Workload', 'String'],
  ['SourceComponent', 'String'],
  ['SourceHost', 'String'],
  ['ReportingController', 'String'],
  ['ClusterName', 'String'],
];

export interface EventSinkOptions {
  table: string;
  /** Written into ClusterName (one ClickHouse may serve several clusters). */
  clusterName: string;
  batchSize: number;
  flushIntervalMs: number;
  /** Events waiting to be written; past it the oldest are dropped (and counted). */
  maxQueued: number;
  /** Write attempts of one batch before it is dropped (and counted). */
  maxAttempts: number;
  /** Remembered (uid, count, lastTimestamp) triples, so re-lists do not write the same event again. */
  dedupEntries: number;
}

export const DEFAULT_EVENT_SINK_OPTIONS: EventSinkOptions = {
  table: 'k8s_events',
  clusterName: '',
  batchSize: 1000,
  flushIntervalMs: 2000,
  maxQueued: 50_000,
  maxAttempts: 5,
  dedupEntries: 100_000,
};

/**
 * Writes Kubernetes events to ClickHouse in batches through the store interface (chdb or a server).
 * An event object is updated in place by Kubernetes as it repeats (count, lastTimestamp): each version
 * is one row, so the table holds the history of repeats. `add` is called on the main loop by the
 * events informer and never blocks; writes happen on a timer or when a batch is full.
 */
export class K8sEventSink {
  private queue: Record<string, unknown>[] = [];
  private readonly seen = new Map<string, true>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private attempts = 0;
  private readonly insertSql: string;
  lastError: string | undefined;

  constructor(
    private readonly store: ClickhouseStore,
    private readonly metrics: WatcherMetrics,
    private readonly log: Logger,
    private readonly opts: EventSinkOptions = DEFAULT_EVENT_SINK_OPTIONS,
  ) {
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(opts.table)) throw new Error(`cannot use table name ${opts.table}`);
    const names = K8S_EVENT_COLUMNS.map(([n]) => n).join(', ');
    const structure = K8S_EVENT_COLUMNS.map(([n, t]) => `${n} ${t}`).join(', ');
    // Rows travel as one bound String parameter parsed by format(): no values are ever spliced into SQL.
    this.insertSql =
      `INSERT INTO {table:Identifier} (${names}) SELECT * FROM format(JSONEachRow, '${structure}', {rows:String})` +
      ` SETTINGS date_time_input_format = 'best_effort'`;
  }

  get queued(): number {
    return this.queue.length;
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.opts.flushIntervalMs);
    this.timer.unref();
  }

  /** `workload` is the involved object's workload as `Kind/name` (e.g. `Deployment/checkout`), or ''. */
  add(e: EventRecord, workload = ''): void {
    const dedupKey = `${e.metadata.uid || `${e.metadata.namespace}/${e.metadata.name}`}|${e.count}|${e.lastTimestamp}`;
    if (this.seen.has(dedupKey)) return;
    this.seen.set(dedupKey, true);
    if (this.seen.size > this.opts.dedupEntries) this.seen.delete(this.seen.keys().next().value!);
    this.queue.push(toRow(e, workload, this.opts.clusterName));
    if (this.queue.length > this.opts.maxQueued) {
      const excess = this.queue.length - this.opts.maxQueued;
      this.queue.splice(0, excess);
      this.metrics.eventsDropped.inc({ reason: 'queue_full' }, excess);
    }
    if (this.queue.length >= this.opts.batchSize) void this.flush();
  }

  /** Writes what is queued; concurrent calls share one write. */
  flush(): Promise<void> {
    this.flushing ??= this.writeAll().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async writeAll(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, this.opts.batchSize);
      try {
        await this.store.exec(this.insertSql, {
          table: this.opts.table,
          rows: batch.map((r) => JSON.stringify(r)).join('\n'),
        });
        this.queue.splice(0, batch.length);
        this.metrics.eventsWritten.inc(batch.length);
        this.attempts = 0;
        this.lastError = undefined;
      } catch (err) {
        this.lastError = errorMessage(err);
        this.attempts++;
        if (this.attempts >= this.opts.maxAttempts) {
          this.queue.splice(0, batch.length);
          this.metrics.eventsDropped.inc({ reason: 'write_failed' }, batch.length);
          this.log.error(
            { err: this.lastError, rows: batch.length },
            'cannot write k8s events; batch dropped',
          );
          this.attempts = 0;
        } else {
          this.log.warn(
            { err: this.lastError, attempt: this.attempts },
            'cannot write k8s events; will retry',
          );
        }
        return; // the next timer tick retries
      }
    }
  }
}

function toRow(e: EventRecord, workload: string, clusterName: string): Record<string, unknown> {
  // Events without any timestamp (rare, hand-made) get the time we saw them.
  const now = new Date().toISOString();
  return {
    Uid: e.metadata.uid,
    Namespace: e.metadata.namespace ?? '',
    Name: e.metadata.name,
    Type: e.type,
    Reason: e.reason,
    Message: e.message,
    Count: e.count,
    FirstTimestamp: e.firstTimestamp || e.lastTimestamp || now,
    LastTimestamp: e.lastTimestamp || now,
    InvolvedObjectKind: e.involvedObject.kind,
    InvolvedObjectNamespace: e.involvedObject.namespace,
    InvolvedObjectName: e.involvedObject.name,
    InvolvedObjectUid: e.involvedObject.uid,
    Workload: workload,
    SourceComponent: e.sourceComponent,
    SourceHost: e.sourceHost,
    ReportingController: e.reportingController,
    ClusterName: clusterName,
  };
}
