import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzip } from 'node:zlib';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Component, HealthStatus } from '../../lib/component.ts';
import { logger } from '../../lib/log.ts';
import type { ClickhouseStore } from '../clickhouse/store.ts';
import { BearerCheck, UNAUTHORIZED } from '../ingester/bearerAuth.ts';
import type { MetricsSink } from './metricsSink.ts';
import { DeltaAccumulator, metricSeries } from './otlpMetrics.ts';
import { logRows, spanRows } from './otlpRows.ts';
import {
  decodeJson,
  decodeProtobuf,
  encodeResponse,
  encodeStatus,
  OtlpInputError,
  type Signal,
} from './otlpSchema.ts';
import { RecentRequests } from './recentRequests.ts';

export interface CollectorOptions {
  host: string;
  /** 0 picks a free port (see `port` after start). */
  port: number;
  store: ClickhouseStore;
  metrics: MetricsSink;
  /** Largest request body as received (compressed), and after gunzip. Larger -> 413. */
  maxBodyBytes?: number;
  maxDecodedBytes?: number;
  /** Store writes running at once; more requests wait, up to `maxQueued`, then get 429. */
  maxInFlight?: number;
  maxQueued?: number;
  /** Seconds a client is told to wait after 429/503. */
  retryAfterSeconds?: number;
  /** The cluster's ingest token senders must present; required unless `host` is a loopback address. */
  token?: string;
  registry?: Registry;
}

const PATHS: Record<string, Signal> = {
  '/v1/traces': 'traces',
  '/v1/logs': 'logs',
  '/v1/metrics': 'metrics',
};
const TABLE = { traces: 'otel_traces', logs: 'otel_logs' } as const;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The OTLP/HTTP receiver of the embedded mode (in a cluster the real OpenTelemetry Collector does this job):
 * POST /v1/traces, /v1/logs, /v1/metrics; protobuf or JSON; gzip or identity.
 *
 * A request is answered 200 only after its rows are in ClickHouse (the insert returned: the part is written
 * and, with the tables' fsync_after_insert, synced). Each request is ONE insert carrying
 * insert_deduplication_token = sha256(signal, decoded body): a client that retries the same request (OTel SDKs
 * resend the same bytes after 429/503/timeouts) cannot store it twice, even when the first attempt was
 * written but its answer lost. That is why requests are not merged into bigger inserts here: the token must
 * be a function of what the client retries. OTel SDKs batch already (BatchSpanProcessor / BatchLogRecordProcessor).
 * Metrics are converted to Prometheus series and handed to the metrics-ingester.
 */
export class OtlpCollector implements Component {
  readonly name = 'collector';
  port = 0;
  private server: Server | undefined;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly recent = new RecentRequests();
  private readonly deltas = new DeltaAccumulator();
  private readonly log = logger('collector');
  private readonly o: Required<Omit<CollectorOptions, 'registry' | 'token'>>;
  private readonly auth: BearerCheck;
  private readonly m;
  private readonly registry: Registry;

  constructor(opts: CollectorOptions) {
    this.o = {
      maxBodyBytes: 8 << 20,
      maxDecodedBytes: 64 << 20,
      maxInFlight: 4,
      maxQueued: 64,
      retryAfterSeconds: 1,
      ...opts,
    };
    this.auth = BearerCheck.forListener('OTLP', opts.host, opts.token);
    this.registry = opts.registry ?? new Registry();
    const registers = [this.registry];
    this.m = {
      requests: new Counter({
        name: 'collector_requests_total',
        help: 'OTLP requests by signal and HTTP status',
        labelNames: ['signal', 'status'],
        registers,
      }),
      records: new Counter({
        name: 'collector_records_stored_total',
        help: 'Spans, log records and metric points accepted',
        labelNames: ['signal'],
        registers,
      }),
      rejected: new Counter({
        name: 'collector_records_rejected_total',
        help: 'Points answered as rejected in a partial success (e.g. delta temporality)',
        labelNames: ['signal'],
        registers,
      }),
      duplicates: new Counter({
        name: 'collector_duplicate_requests_total',
        help: 'Retried requests recognised as already stored',
        labelNames: ['signal'],
        registers,
      }),
      writeSeconds: new Histogram({
        name: 'collector_write_duration_seconds',
        help: 'Time to write one request to ClickHouse or the ingester',
        labelNames: ['signal'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers,
      }),
      inFlight: new Gauge({
        name: 'collector_in_flight_requests',
        help: 'Requests being written',
        registers,
      }),
    };
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => void this.handle(req, res));
    server.requestTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port, this.o.host, resolve);
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    this.log.info({ url: `http://${this.o.host}:${this.port}` }, 'OTLP/HTTP receiver listening');
  }

  async shutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    // Stop accepting; requests already reading or writing finish and get their answer.
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  }

  async health(): Promise<HealthStatus> {
    return this.server
      ? { ok: true, detail: `listening on ${this.port}` }
      : { ok: false, detail: 'not started' };
  }

  /** The collector's own metrics in Prometheus text format (also served by the process's /metrics). */
  metricsText(): Promise<string> {
    return this.registry.metrics();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const signal = PATHS[path];
    const json = (req.headers['content-type'] ?? '').startsWith('application/json');
    try {
      if (!signal) throw new HttpError(404, `cannot route ${path}: use /v1/traces, /v1/logs or /v1/metrics`);
      if (req.method !== 'POST') throw new HttpError(405, `cannot ${req.method} ${path}: use POST`);
      if (!this.auth.allows(req.headers.authorization)) throw new HttpError(401, UNAUTHORIZED);
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (type !== 'application/json' && type !== 'application/x-protobuf') {
        throw new HttpError(
          415,
          `cannot read content type "${type}": use application/x-protobuf or application/json`,
        );
      }
      const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
      if (encoding !== 'gzip' && encoding !== 'identity') {
        throw new HttpError(415, `cannot read content encoding "${encoding}": use gzip or none`);
      }
      if (this.inFlight + this.waiting.length >= this.o.maxInFlight + this.o.maxQueued) {
        throw new HttpError(429, 'cannot accept more requests now: too many waiting to be written');
      }
      const raw = await this.readBody(req);
      const body = encoding === 'gzip' ? await this.gunzip(raw) : raw;
      const answer = await this.process(signal, body, json);
      this.reply(res, signal, 200, answer, json);
    } catch (err) {
      const status = err instanceof HttpError ? err.status : err instanceof OtlpInputError ? 400 : 503;
      if (status === 503) this.log.warn({ signal, err: (err as Error).message }, 'cannot store OTLP request');
      this.reply(res, signal ?? 'none', status, encodeStatus(json, status, (err as Error).message), json);
      if (status === 413 || status === 401) req.resume();
    }
  }

  private reply(res: ServerResponse, signal: string, status: number, body: Buffer, json: boolean): void {
    this.m.requests.inc({ signal, status });
    const headers: Record<string, string | number> = {
      'content-type': json ? 'application/json' : 'application/x-protobuf',
      'content-length': body.length,
    };
    if (status === 429 || status === 503) headers['retry-after'] = this.o.retryAfterSeconds;
    if (status === 413) headers.connection = 'close';
    if (status === 401) headers['www-authenticate'] = 'Bearer';
    res.writeHead(status, headers).end(body);
  }

  private readBody(req: IncomingMessage): Promise<Buffer> {
    const max = this.o.maxBodyBytes;
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

  private gunzip(raw: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      gunzip(raw, { maxOutputLength: this.o.maxDecodedBytes }, (err, out) => {
        if (!err) return resolve(out);
        if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
          return reject(
            new HttpError(413, `cannot accept a body over ${this.o.maxDecodedBytes} bytes uncompressed`),
          );
        }
        reject(new HttpError(400, `cannot gunzip the body: ${err.message}`));
      });
    });
  }

  /** Decodes, converts, dedups and writes one request; returns the success answer's body. */
  private async process(signal: Signal, body: Buffer, json: boolean): Promise<Buffer> {
    const req = json ? decodeJson(signal, body) : decodeProtobuf(signal, body);
    const digest = createHash('sha256')
      .update(signal)
      .update(json ? 'j' : 'p')
      .update(body)
      .digest('hex');
    if (this.recent.has(digest)) {
      this.m.duplicates.inc({ signal });
      return encodeResponse(signal, json);
    }
    if (signal === 'metrics') {
      const converted = metricSeries(req, this.deltas);
      await this.write(signal, () => this.o.metrics.write(converted.series));
      this.recent.add(digest);
      this.m.records.inc({ signal }, converted.points - converted.rejected);
      this.m.rejected.inc({ signal }, converted.rejected);
      return encodeResponse(signal, json, converted.rejected, converted.rejectReason);
    }
    const rows = signal === 'logs' ? logRows(req) : spanRows(req);
    if (rows.length === 0) return encodeResponse(signal, json);
    await this.write(signal, () =>
      this.o.store.insert(TABLE[signal], rows, {
        insert_deduplication_token: digest,
        deduplicate_blocks_in_dependent_materialized_views: 1,
      }),
    );
    this.recent.add(digest);
    this.m.records.inc({ signal }, rows.length);
    return encodeResponse(signal, json);
  }

  /** Runs `fn` when one of `maxInFlight` slots is free (FIFO); a failure becomes a 503 for the client. */
  private async write(signal: Signal, fn: () => Promise<void>): Promise<void> {
    if (this.inFlight < this.o.maxInFlight) this.inFlight++;
    else await new Promise<void>((r) => this.waiting.push(r)); // the slot is handed over by release()
    this.m.inFlight.set(this.inFlight);
    const end = this.m.writeSeconds.startTimer({ signal });
    try {
      await fn();
    } catch (err) {
      throw new HttpError(503, `cannot write ${signal} now, retry later: ${(err as Error).message}`);
    } finally {
      end();
      const next = this.waiting.shift();
      if (next) next();
      else this.inFlight--;
      this.m.inFlight.set(this.inFlight);
    }
  }
}
