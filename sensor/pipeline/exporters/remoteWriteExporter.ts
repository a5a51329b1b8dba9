import { Counter, Gauge, type Registry } from 'prom-client';
import { compress } from 'snappyjs';
import { REMOTE_WRITE_HEADERS } from '../../../incloud/ingester/remoteWrite.ts';
import { encodeSeriesWire } from '../../../incloud/ingester/remoteWriteWire.ts';
import type { FlatSeries } from '../redAggregator.ts';
import { BatchSender, type Body, PermanentSendError } from './batchSender.ts';
import { HttpPoster } from './httpPoster.ts';

/**
 * Prometheus remote write 1.0 (protobuf + snappy) of the sensor's metrics to the metrics-ingester. Every
 * `intervalMs` it takes a snapshot from `source` (cumulative values, labels sorted), stamps it with the
 * current time, cuts it into bodies of `maxSeriesPerBody` series and queues them for the batch sender.
 * The wire encoder is the ingester's own (`incloud/ingester/remoteWriteWire.ts`), so both ends agree.
 */
export interface RemoteWriteExporterOptions {
  /** Full URL, e.g. http://127.0.0.1:9091/api/v1/write. */
  url: string;
  source: () => FlatSeries[];
  intervalMs: number;
  maxSeriesPerBody: number;
  maxQueueBodies: number;
  timeoutMs: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** The cluster's ingest token, sent as `Authorization: Bearer <token>` (never logged). */
  token?: string;
  registry?: Registry;
}

export const DEFAULT_REMOTE_WRITE_OPTIONS = {
  intervalMs: 15_000,
  maxSeriesPerBody: 5_000,
  maxQueueBodies: 64,
  timeoutMs: 10_000,
  initialBackoffMs: 250,
  maxBackoffMs: 10_000,
};

export class RemoteWriteExporter {
  private readonly o: RemoteWriteExporterOptions;
  private readonly sender: BatchSender;
  private readonly poster: HttpPoster;
  private readonly headers: Record<string, string>;
  private timer: NodeJS.Timeout | undefined;
  private readonly m;

  constructor(
    opts: Pick<RemoteWriteExporterOptions, 'url' | 'source'> & Partial<RemoteWriteExporterOptions>,
  ) {
    this.o = { ...DEFAULT_REMOTE_WRITE_OPTIONS, ...opts };
    try {
      new URL(this.o.url);
    } catch {
      throw new Error(`cannot configure remote write: ${JSON.stringify(this.o.url)} is not a URL`);
    }
    this.poster = new HttpPoster(this.o.url, this.o.timeoutMs);
    this.headers = this.o.token
      ? { ...REMOTE_WRITE_HEADERS, authorization: `Bearer ${this.o.token}` }
      : { ...REMOTE_WRITE_HEADERS };
    const registers = opts.registry ? [opts.registry] : [];
    let queued: Gauge;
    this.m = {
      sent: new Counter({
        name: 'sensor_remote_write_samples_sent_total',
        help: 'Samples the metrics-ingester accepted',
        registers,
      }),
      dropped: new Counter({
        name: 'sensor_remote_write_samples_dropped_total',
        help: 'Samples never delivered, by reason (queue_full, rejected, shutdown)',
        labelNames: ['reason'],
        registers,
      }),
      errors: new Counter({
        name: 'sensor_remote_write_errors_total',
        help: 'Failed remote-write requests (each retry counts)',
        registers,
      }),
      queued: new Gauge({
        name: 'sensor_remote_write_queue_bodies',
        help: 'Encoded bodies waiting to be sent',
        registers,
        collect: () => queued.set(this.sender.queued),
      }),
    };
    queued = this.m.queued;
    this.sender = new BatchSender({
      name: 'remote-write-exporter',
      maxQueueBodies: this.o.maxQueueBodies,
      initialBackoffMs: this.o.initialBackoffMs,
      maxBackoffMs: this.o.maxBackoffMs,
      send: (b) => this.post(b),
      onSent: (b) => this.m.sent.inc(b.items),
      onDropped: (b, reason) => this.m.dropped.inc({ reason }, b.items),
      onError: () => this.m.errors.inc(),
    });
  }

  get queued(): number {
    return this.sender.queued;
  }

  start(): void {
    if (this.timer) return;
    this.sender.start();
    this.timer = setInterval(() => this.flush(), this.o.intervalMs);
    this.timer.unref();
  }

  /** Takes a snapshot now and queues it. Returns the number of series. */
  flush(nowMs = Date.now()): number {
    const series = this.o.source();
    for (let i = 0; i < series.length; i += this.o.maxSeriesPerBody) {
      const chunk = series.slice(i, i + this.o.maxSeriesPerBody);
      this.sender.push({ bytes: compress(encodeSeriesWire(chunk, nowMs)), items: chunk.length });
    }
    return series.length;
  }

  /** Waits for the queue to empty (true) or `timeoutMs`. */
  drain(timeoutMs: number): Promise<boolean> {
    return this.sender.drain(timeoutMs);
  }

  /** A last snapshot, up to `graceMs` to deliver it, then stop. Safe to call twice or before start. */
  async shutdown(graceMs = 3000): Promise<void> {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
    await this.sender.drain(graceMs);
    await this.sender.stop();
    this.poster.close();
  }

  private async post(b: Body): Promise<void> {
    const res = await this.poster.post(b.bytes, this.headers);
    if (res.status >= 200 && res.status < 300) return;
    const msg = `cannot remote write to ${this.o.url}: HTTP ${res.status} ${res.text}`;
    if (res.status >= 400 && res.status < 500 && res.status !== 429) throw new PermanentSendError(msg);
    throw new Error(msg);
  }
}
