import { fileURLToPath } from 'node:url';
import { Counter, type Registry } from 'prom-client';
import protobuf from 'protobufjs';
import { BatchSender, type Body, PermanentSendError } from './batchSender.ts';
import { otlpHeaders } from './otlpExporter.ts';

/**
 * OTLP/HTTP protobuf export of log records (container logs) to the collector: POST <url>/v1/logs, batches of
 * at most `maxRecordsPerBatch`, the same bounded queue, retries and drop counters as the span exporter.
 *
 * `export` answers when the collector acknowledged the records (HTTP 2xx) or they were given up, so the
 * log tailer can persist its offsets only past acknowledged lines. `unacked` counts records not settled yet;
 * the tailer stops reading while it is high (backpressure instead of dropping from a full queue).
 */
const root = protobuf.loadSync(
  fileURLToPath(new URL('../../../incloud/collector/otlp.proto', import.meta.url)),
);
const ExportLogsServiceRequest = root.lookupType('otlp.ExportLogsServiceRequest');

export interface LogRecordOut {
  /** Resource attributes (namespace, pod, container, ...); records with equal resources are grouped. */
  resource: Record<string, string>;
  timeUnixNano: bigint;
  severityNumber: number;
  severityText: string;
  body: string;
  attributes: Record<string, string>;
}

/** How a batch of records ended: `sent` = acknowledged; the others never reached the store. */
export type LogOutcome = 'sent' | 'rejected' | 'queue_full' | 'shutdown';

/** One `export` call waiting for every body its records went into. */
interface Waiter {
  parts: number;
  outcome: LogOutcome;
  resolve: (o: LogOutcome) => void;
}

interface LogBody extends Body {
  waiters: Waiter[];
}

export interface OtlpLogExporterOptions {
  url: string;
  maxRecordsPerBatch?: number;
  maxQueueBodies?: number;
  timeoutMs?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** The cluster's ingest token, sent as `Authorization: Bearer <token>` (never logged). */
  token?: string;
  /** Added to every record's resource (e.g. `k8s.cluster.name`); the record's own attributes win. */
  resourceAttributes?: Record<string, string>;
  registry?: Registry;
}

export class OtlpLogExporter {
  private readonly endpoint: string;
  private readonly sender: BatchSender;
  private pending: LogRecordOut[] = [];
  private pendingWaiters: Waiter[] = [];
  /** Records handed to `export` whose body has not been acknowledged or given up yet. */
  unacked = 0;
  private readonly maxBatch: number;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;
  private readonly extraResource: Record<string, string>;
  private readonly m;

  constructor(o: OtlpLogExporterOptions) {
    this.headers = otlpHeaders(o.token);
    this.extraResource = o.resourceAttributes ?? {};
    try {
      this.endpoint = new URL('v1/logs', o.url.endsWith('/') ? o.url : `${o.url}/`).href;
    } catch {
      throw new Error(`cannot configure OTLP log export: ${JSON.stringify(o.url)} is not a URL`);
    }
    this.maxBatch = o.maxRecordsPerBatch ?? 1000;
    this.timeoutMs = o.timeoutMs ?? 10_000;
    const registers = o.registry ? [o.registry] : [];
    this.m = {
      sent: new Counter({
        name: 'sensor_otlp_logs_sent_total',
        help: 'Log records the collector accepted',
        registers,
      }),
      dropped: new Counter({
        name: 'sensor_otlp_logs_dropped_total',
        help: 'Log records never delivered, by reason (queue_full, rejected, shutdown)',
        labelNames: ['reason'],
        registers,
      }),
      errors: new Counter({
        name: 'sensor_otlp_logs_errors_total',
        help: 'Failed OTLP log requests',
        registers,
      }),
    };
    this.sender = new BatchSender({
      name: 'otlp-log-exporter',
      maxQueueBodies: o.maxQueueBodies ?? 64,
      initialBackoffMs: o.initialBackoffMs ?? 250,
      maxBackoffMs: o.maxBackoffMs ?? 10_000,
      send: (b) => this.post(b),
      onSent: (b) => {
        this.m.sent.inc(b.items);
        this.settle(b as LogBody, 'sent');
      },
      onDropped: (b, reason) => {
        this.m.dropped.inc({ reason }, b.items);
        this.settle(b as LogBody, reason);
      },
      onError: () => this.m.errors.inc(),
    });
  }

  start(): void {
    this.sender.start();
  }

  /**
   * Queues records; resolves with the worst outcome of the bodies they went into (a call may span two).
   * Every part is counted synchronously here, before any body can settle, so the count is final.
   */
  export(records: readonly LogRecordOut[]): Promise<LogOutcome> {
    if (records.length === 0) return Promise.resolve('sent');
    let resolve!: (o: LogOutcome) => void;
    const done = new Promise<LogOutcome>((r) => {
      resolve = r;
    });
    const waiter: Waiter = { parts: 0, outcome: 'sent', resolve };
    this.unacked += records.length;
    for (const r of records) {
      if (this.pendingWaiters.at(-1) !== waiter) {
        this.pendingWaiters.push(waiter);
        waiter.parts++;
      }
      this.pending.push(r);
      if (this.pending.length >= this.maxBatch) this.flush();
    }
    return done;
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    const waiters = this.pendingWaiters;
    this.pending = [];
    this.pendingWaiters = [];
    const body: LogBody = { bytes: encodeLogs(batch, this.extraResource), items: batch.length, waiters };
    this.sender.push(body);
  }

  private settle(body: LogBody, outcome: LogOutcome): void {
    this.unacked -= body.items;
    for (const w of body.waiters) {
      if (outcome !== 'sent' && w.outcome === 'sent') w.outcome = outcome;
      if (--w.parts === 0) w.resolve(w.outcome);
    }
  }

  get queued(): number {
    return this.sender.queued;
  }

  drain(timeoutMs: number): Promise<boolean> {
    this.flush();
    return this.sender.drain(timeoutMs);
  }

  async shutdown(graceMs = 3000): Promise<void> {
    await this.drain(graceMs);
    await this.sender.stop();
  }

  private async post(b: Body): Promise<void> {
    const res = await fetch(this.endpoint, {
      method: 'POST',
      headers: this.headers,
      body: b.bytes,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (res.ok) {
      await res.arrayBuffer().catch(() => undefined);
      return;
    }
    const msg = `cannot export logs to ${this.endpoint}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`;
    if (res.status >= 400 && res.status < 500 && res.status !== 429) throw new PermanentSendError(msg);
    throw new Error(msg);
  }
}

export function encodeLogs(
  records: readonly LogRecordOut[],
  extraResource: Record<string, string> = {},
): Uint8Array {
  const groups = new Map<string, { resource: Record<string, string>; logRecords: unknown[] }>();
  const observed = (BigInt(Date.now()) * 1_000_000n).toString();
  for (const r of records) {
    const key = JSON.stringify(r.resource);
    let g = groups.get(key);
    if (!g) {
      g = { resource: r.resource, logRecords: [] };
      groups.set(key, g);
    }
    g.logRecords.push({
      timeUnixNano: r.timeUnixNano.toString(),
      observedTimeUnixNano: observed,
      severityNumber: r.severityNumber,
      severityText: r.severityText,
      body: { stringValue: r.body },
      attributes: kv(r.attributes),
    });
  }
  const msg = {
    resourceLogs: [...groups.values()].map((g) => ({
      resource: { attributes: kv({ ...extraResource, ...g.resource }) },
      scopeLogs: [{ scope: { name: 'understory-sensor' }, logRecords: g.logRecords }],
    })),
  };
  return ExportLogsServiceRequest.encode(ExportLogsServiceRequest.fromObject(msg)).finish();
}

function kv(o: Record<string, string>) {
  return Object.entries(o).map(([key, v]) => ({ key, value: { stringValue: v } }));
}
