import { renameSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Counter, Gauge, Registry } from 'prom-client';
import { compressSync } from 'snappy';
import type { Component, HealthStatus } from '../../lib/component.ts';
import { logger } from '../../lib/log.ts';
import { BearerCheck, UNAUTHORIZED } from './bearerAuth.ts';
import { DiskQueue, type QueueItem } from './diskQueue.ts';
import {
  postRemoteWrite,
  type RemoteSeries,
  RemoteWriteHttpError,
  RemoteWriteInputError,
} from './remoteWrite.ts';
import { encodeSeriesWire, RemoteWriteParser } from './remoteWriteWire.ts';
import { type AggregatorConfig, DEFAULT_AGGREGATOR_CONFIG, SeriesAggregator } from './seriesAggregator.ts';
import { readTotals, writeTotals } from './totalsFile.ts';

export interface IngesterOptions {
  host: string;
  /** 0 picks a free port (see `port` after start). Remote write path: /api/v1/write. */
  port: number;
  /** VictoriaMetrics base URL; the ingester writes `${vmUrl}/api/v1/write`. */
  vmUrl: string;
  /**
   * Where flushed-but-unsent bodies wait while VictoriaMetrics is down; the counters' totals are kept there
   * too (`totals.json`), so counters continue across a restart.
   */
  queueDir: string;
  maxQueueBytes?: number;
  reportIntervalMs?: number;
  /** Series per remote-write body sent to VictoriaMetrics. */
  maxSeriesPerBody?: number;
  maxBodyBytes?: number;
  maxDecodedBytes?: number;
  aggregation?: Partial<AggregatorConfig>;
  /** The cluster's ingest token senders must present; required unless `host` is a loopback address. */
  token?: string;
  registry?: Registry;
}

/**
 * The metrics-ingester: Prometheus remote write in (all sensors, and the collector's OTLP metrics), aggregated
 * and limited series out to VictoriaMetrics once per report interval.
 *
 * A sender's write is acknowledged (204) once folded into the in-memory aggregate. Each report interval the
 * aggregate is encoded and appended to an on-disk queue, and a sender loop delivers the queue in order,
 * retrying with backoff while VictoriaMetrics is down; bodies are removed only after VictoriaMetrics answered
 * 2xx. A full queue drops its oldest bodies (counted). Sensors resend cumulative values every interval, so an
 * aggregate lost in a crash is rebuilt from the next reports.
 */
export class MetricsIngester implements Component {
  readonly name = 'metrics-ingester';
  port = 0;
  private server: Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly agg: SeriesAggregator;
  /** Reused by every request: parse and fold run synchronously, one request at a time (see `handle`). */
  private readonly parser = new RemoteWriteParser();
  private queue: DiskQueue | undefined;
  private sending: Promise<void> | undefined;
  private stopping = false;
  private backoffMs = 0;
  private wake: (() => void) | undefined;
  private lastSendError = '';
  private readonly log = logger('ingester');
  private readonly o: Required<Omit<IngesterOptions, 'registry' | 'aggregation' | 'token'>>;
  private readonly auth: BearerCheck;
  private readonly m;

  constructor(opts: IngesterOptions) {
    this.o = {
      maxQueueBytes: 512 << 20,
      reportIntervalMs: 15_000,
      maxSeriesPerBody: 10_000,
      maxBodyBytes: 16 << 20,
      maxDecodedBytes: 64 << 20,
      ...opts,
    };
    this.auth = BearerCheck.forListener('remote write', opts.host, opts.token);
    this.agg = new SeriesAggregator({ ...DEFAULT_AGGREGATOR_CONFIG, ...opts.aggregation });
    const registers = [opts.registry ?? new Registry()];
    const counts = this.agg.counts;
    const counter = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    this.m = {
      requests: new Counter({
        name: 'ingester_requests_total',
        help: 'Remote-write requests received, by HTTP status',
        labelNames: ['status'],
        registers,
      }),
      written: new Counter({
        name: 'ingester_samples_written_total',
        help: 'Samples VictoriaMetrics accepted',
        registers,
      }),
      dropped: new Counter({
        name: 'ingester_samples_dropped_total',
        help: 'Flushed samples that never reached VictoriaMetrics, by reason',
        labelNames: ['reason'],
        registers,
      }),
      sendErrors: new Counter({
        name: 'ingester_send_errors_total',
        help: 'Failed writes to VictoriaMetrics',
        registers,
      }),
      flushes: new Counter({ name: 'ingester_flushes_total', help: 'Report intervals flushed', registers }),
      totalsErrors: new Counter({
        name: 'ingester_totals_save_errors_total',
        help: 'Flushes whose counter totals could not be saved to disk',
        registers,
      }),
      queueBytes: new Gauge({
        name: 'ingester_queue_bytes',
        help: 'Bytes waiting on disk for VictoriaMetrics',
        registers,
      }),
      queueBodies: new Gauge({
        name: 'ingester_queue_bodies',
        help: 'Bodies waiting on disk for VictoriaMetrics',
        registers,
      }),
      active: new Gauge({
        name: 'ingester_series_active',
        help: 'Aggregated series being written',
        registers,
      }),
    };
    counter('ingester_samples_received_total', 'Samples received from senders', () => counts.samples);
    const limited = new Counter({
      name: 'ingester_series_limited_total',
      help: 'New series folded into an overflow series, by the limit that applied',
      labelNames: ['limit'],
      registers,
      collect() {
        this.reset();
        this.inc({ limit: 'metric' }, counts.limitedByMetric);
        this.inc({ limit: 'workload' }, counts.limitedByWorkload);
      },
    });
    void limited;
    counter('ingester_labels_dropped_total', 'Labels removed by drop rules', () => counts.labelsDropped);
    counter(
      'ingester_series_aged_out_total',
      'Series removed after not being reported',
      () => counts.agedSeries,
    );
  }

  async start(): Promise<void> {
    if (this.server) return;
    this.stopping = false;
    this.queue = new DiskQueue(this.o.queueDir, this.o.maxQueueBytes);
    this.restoreTotals();
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port, this.o.host, resolve);
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    this.timer = setInterval(() => this.flush(), this.o.reportIntervalMs);
    this.sending = this.sendLoop();
    this.log.info(
      { url: `http://${this.o.host}:${this.port}/api/v1/write`, vm: this.o.vmUrl, queued: this.queue.length },
      'metrics-ingester listening',
    );
  }

  /** Stops receiving, flushes the aggregate to the queue, and gives the sender a moment to deliver it. */
  async shutdown(graceMs = 3000): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    clearInterval(this.timer);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    this.flush();
    const deadline = Date.now() + graceMs;
    while ((this.queue?.length ?? 0) > 0 && Date.now() < deadline && this.backoffMs === 0) {
      await new Promise((r) => setTimeout(r, 20));
    }
    this.stopping = true;
    this.wake?.();
    await this.sending;
  }

  async health(): Promise<HealthStatus> {
    if (!this.server) return { ok: false, detail: 'not started' };
    const queued = this.queue?.length ?? 0;
    return {
      ok: true,
      detail: queued > 0 ? `${queued} bodies queued; last error: ${this.lastSendError}` : 'ok',
    };
  }

  /** In-process entry (the collector's OTLP metrics): same as a remote-write request. */
  async write(series: readonly RemoteSeries[]): Promise<void> {
    if (!this.server) throw new Error('cannot accept metrics: the ingester is not running');
    this.agg.add(series);
  }

  private get totalsFile(): string {
    return join(this.o.queueDir, 'totals.json');
  }

  /** Loads the counters' totals of the previous run; a damaged file is set aside (counted in the log) and ignored. */
  private restoreTotals(): void {
    const file = this.totalsFile;
    try {
      const saved = readTotals(file);
      if (!saved) return;
      const n = this.agg.restoreTotals(saved);
      this.log.info({ series: n }, 'restored counter totals of the previous run');
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'cannot restore counter totals; starting from zero');
      try {
        renameSync(file, `${file}.damaged`);
      } catch {
        // already gone: nothing to set aside
      }
    }
  }

  /** Ends a report interval now (also called by the timer). Returns the number of series flushed. */
  flush(now = Date.now()): number {
    const series = this.agg.flush();
    try {
      writeTotals(this.totalsFile, this.agg.saveTotals());
    } catch (err) {
      this.m.totalsErrors.inc();
      this.log.warn({ err: (err as Error).message }, 'cannot save counter totals');
    }
    this.m.flushes.inc();
    this.m.active.set(this.agg.size);
    for (let i = 0; i < series.length; i += this.o.maxSeriesPerBody) {
      const chunk = series.slice(i, i + this.o.maxSeriesPerBody);
      const dropped = this.queue!.push(compressSync(encodeSeriesWire(chunk, now)), chunk.length);
      this.countDropped(dropped, 'queue_full');
    }
    this.updateQueueGauges();
    this.wake?.();
    return series.length;
  }

  /** Bodies waiting for VictoriaMetrics. */
  get queued(): number {
    return this.queue?.length ?? 0;
  }

  private countDropped(items: QueueItem[], reason: string): void {
    for (const d of items) this.m.dropped.inc({ reason }, d.samples);
    if (items.length > 0) this.log.warn({ bodies: items.length, reason }, 'dropped queued metrics');
  }

  private updateQueueGauges(): void {
    this.m.queueBytes.set(this.queue?.totalBytes ?? 0);
    this.m.queueBodies.set(this.queue?.length ?? 0);
  }

  /** Delivers the queue oldest first; one body in flight at a time keeps VictoriaMetrics' order. */
  private async sendLoop(): Promise<void> {
    const url = `${this.o.vmUrl.replace(/\/$/, '')}/api/v1/write`;
    while (!this.stopping) {
      const next = this.queue?.peek();
      if (!next) {
        await new Promise<void>((r) => {
          this.wake = r;
        });
        this.wake = undefined;
        continue;
      }
      if ('lost' in next) {
        this.countDropped([next.lost], 'unreadable');
        continue;
      }
      try {
        await postRemoteWrite(url, next.body);
        this.queue!.remove(next.item);
        this.m.written.inc(next.item.samples);
        this.backoffMs = 0;
      } catch (err) {
        this.m.sendErrors.inc();
        this.lastSendError = (err as Error).message;
        if (
          err instanceof RemoteWriteHttpError &&
          err.status >= 400 &&
          err.status < 500 &&
          err.status !== 429
        ) {
          // VictoriaMetrics refuses this body for good: retrying cannot help.
          this.queue!.remove(next.item);
          this.countDropped([next.item], 'rejected');
        } else {
          this.backoffMs = Math.min(Math.max(this.backoffMs * 2, 250), 10_000);
          if (this.backoffMs === 250)
            this.log.warn({ err: this.lastSendError }, 'cannot write VictoriaMetrics; retrying');
          await new Promise<void>((r) => {
            const t = setTimeout(r, this.backoffMs);
            this.wake = () => {
              if (this.stopping) {
                clearTimeout(t);
                r();
              }
            };
          });
          this.wake = undefined;
        }
      }
      this.updateQueueGauges();
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    let status = 204;
    let message = '';
    try {
      if (path !== '/api/v1/write') throw new HttpError(404, `cannot route ${path}: use /api/v1/write`);
      if (req.method !== 'POST') throw new HttpError(405, `cannot ${req.method} ${path}: use POST`);
      if (!this.auth.allows(req.headers.authorization)) throw new HttpError(401, UNAUTHORIZED);
      const encoding = req.headers['content-encoding'] ?? '';
      if (encoding !== 'snappy')
        throw new HttpError(415, `cannot read content encoding "${encoding}": use snappy`);
      const body = await readBody(req, this.o.maxBodyBytes);
      // The whole request is parsed (validated) before any of it is folded in: bad input changes nothing.
      // No await between the two: the parser's result is only valid until its next parse.
      this.agg.observeParsed(this.parser.parse(body, this.o.maxDecodedBytes, this.agg.knownSeries));
    } catch (err) {
      status = err instanceof HttpError ? err.status : err instanceof RemoteWriteInputError ? 400 : 500;
      message = (err as Error).message;
    }
    this.m.requests.inc({ status });
    if (status === 413 || status === 401) req.resume();
    const headers: Record<string, string> = { 'content-type': 'text/plain' };
    if (status === 401) headers['www-authenticate'] = 'Bearer';
    res.writeHead(status, headers).end(message ? `${message}\n` : undefined);
  }
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max)
    return Promise.reject(new HttpError(413, `cannot accept a body of ${declared} bytes: limit ${max}`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.off('data', onData);
        reject(new HttpError(413, `cannot accept a body over ${max} bytes`));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks, size)));
    req.once('error', reject);
  });
}
