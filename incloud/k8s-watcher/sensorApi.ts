import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../lib/log.ts';
import { SNAPSHOT_PATH, WATCH_PATH, WORKLOADS_PATH, type WorkloadEntry } from './client/types.ts';
import { changeLine, type EntryLog, heartbeatLine, type StoredChange } from './entryLog.ts';
import type { WatcherMetrics } from './metrics.ts';

export interface SensorApiOptions {
  host: string;
  port: number;
  /** Cluster-internal bearer token; required unless the API listens on loopback only. */
  token?: string;
  maxWatchClients: number;
  /** Concurrent snapshot bodies being written (each holds a copy of the entry set). */
  maxSnapshots: number;
  /** A watch stream whose unsent data exceeds this is closed; its client re-syncs from a snapshot. */
  maxBufferedBytes: number;
  heartbeatMs: number;
  maxWorkloadsPerQuery: number;
}

export const DEFAULT_SENSOR_API_OPTIONS: Omit<SensorApiOptions, 'host' | 'port'> = {
  maxWatchClients: 2000,
  maxSnapshots: 16,
  maxBufferedBytes: 8 * 1024 * 1024,
  heartbeatMs: 15_000,
  maxWorkloadsPerQuery: 5000,
};

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * The API sensors use: `GET /v1/snapshot`, `GET /v1/watch?epoch=&since=` (JSON lines), and
 * `GET /v1/workloads?namespace=&kind=` for the UI. Every request needs `Authorization: Bearer <token>`.
 */
export class SensorApi {
  private server: Server | undefined;
  private readonly tokenDigest: Buffer | undefined;
  private readonly watchers = new Set<ServerResponse>();
  private snapshotsInFlight = 0;

  constructor(
    private readonly entries: EntryLog,
    private readonly opts: SensorApiOptions,
    private readonly metrics: WatcherMetrics,
    private readonly log: Logger,
  ) {
    if (!opts.token && !LOOPBACK.has(opts.host)) {
      throw new Error(`cannot serve the sensor API on ${opts.host} without a token: set one (--token-file)`);
    }
    this.tokenDigest = opts.token ? digest(opts.token) : undefined;
  }

  async listen(): Promise<number> {
    const server = createServer((req, res) => this.route(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, resolve);
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const res of this.watchers) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get watchClients(): number {
    return this.watchers.size;
  }

  private route(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://sensor-api');
    const path = url.pathname;
    res.on('finish', () => this.metrics.apiRequests.inc({ path: knownPath(path), code: res.statusCode }));
    if (!this.authorized(req)) {
      res.setHeader('www-authenticate', 'Bearer');
      return sendError(res, 401, 'cannot authorize request: missing or wrong bearer token');
    }
    if (req.method !== 'GET') {
      res.setHeader('allow', 'GET');
      return sendError(res, 405, `cannot ${req.method} ${path}: only GET is served`);
    }
    const node = url.searchParams.get('node') ?? undefined;
    if (node !== undefined && !NODE_NAME.test(node))
      return sendError(res, 400, 'cannot serve a node-scoped copy: `node` must be a Kubernetes node name');
    if (path === SNAPSHOT_PATH) return void this.snapshot(res, node);
    if (path === WATCH_PATH) return this.watch(url, res, node);
    if (path === WORKLOADS_PATH) return this.workloads(url, res);
    sendError(res, 404, `cannot find ${path}`);
  }

  private authorized(req: IncomingMessage): boolean {
    if (!this.tokenDigest) return true;
    const header = req.headers.authorization ?? '';
    if (!header.startsWith('Bearer ')) return false;
    // Comparing fixed-size digests keeps the comparison constant-time whatever the token length.
    return timingSafeEqual(digest(header.slice(7)), this.tokenDigest);
  }

  /** `node`: the requesting sensor's node; pods elsewhere come without their containers (entryLog.ts). */
  private async snapshot(res: ServerResponse, node: string | undefined): Promise<void> {
    if (this.snapshotsInFlight >= this.opts.maxSnapshots) {
      res.setHeader('retry-after', '1');
      return sendError(res, 503, 'cannot serve snapshot: too many in flight, retry');
    }
    this.snapshotsInFlight++;
    try {
      // Copied synchronously so the body is one consistent revision even while writing waits on drain.
      const lines = [...this.entries.snapshotLines(node)];
      const rev = this.entries.rev;
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      let chunk = `{"epoch":${JSON.stringify(this.entries.epoch)},"rev":${rev},"entries":[`;
      for (let i = 0; i < lines.length; i++) {
        chunk += (i === 0 ? '' : ',') + lines[i];
        if (chunk.length >= 64 * 1024) {
          if (!res.write(chunk)) await drained(res);
          chunk = '';
          if (res.destroyed) return;
        }
      }
      res.end(`${chunk}]}`);
    } finally {
      this.snapshotsInFlight--;
    }
  }

  private watch(url: URL, res: ServerResponse, node: string | undefined) {
    const since = Number(url.searchParams.get('since'));
    if (!url.searchParams.has('since') || !Number.isSafeInteger(since) || since < 0) {
      return sendError(res, 400, 'cannot watch: `since` must be a revision (non-negative integer)');
    }
    const epoch = url.searchParams.get('epoch');
    if (epoch !== this.entries.epoch) {
      return sendError(res, 410, 'cannot watch: the watcher restarted (epoch changed); take a snapshot');
    }
    const backlog = this.entries.changesSince(since);
    if (backlog === 'expired') {
      return sendError(res, 410, `cannot watch from revision ${since}: history expired; take a snapshot`);
    }
    if (this.watchers.size >= this.opts.maxWatchClients) {
      this.metrics.watchClientsDropped.inc({ reason: 'limit' });
      res.setHeader('retry-after', '5');
      return sendError(res, 503, `cannot watch: ${this.opts.maxWatchClients} streams already open`);
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    this.watchers.add(res);
    this.metrics.watchClients.set(this.watchers.size);

    const send = (text: string) => {
      if (res.destroyed) return;
      res.write(text);
      if (res.writableLength > this.opts.maxBufferedBytes) {
        this.metrics.watchClientsDropped.inc({ reason: 'slow_reader' });
        this.log.warn({ buffered: res.writableLength }, 'closing slow sensor watch stream');
        res.destroy();
      }
    };
    send(heartbeatLine(this.entries.rev));
    for (const c of backlog) send(changeLine(c, node));
    const unsubscribe = this.entries.subscribe((c: StoredChange) => send(changeLine(c, node)));
    const heartbeat = setInterval(() => send(heartbeatLine(this.entries.rev)), this.opts.heartbeatMs);
    heartbeat.unref();
    res.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      this.watchers.delete(res);
      this.metrics.watchClients.set(this.watchers.size);
    });
  }

  private workloads(url: URL, res: ServerResponse): void {
    const namespace = url.searchParams.get('namespace');
    const kind = url.searchParams.get('kind');
    const limit = Math.min(
      Number(url.searchParams.get('limit') ?? this.opts.maxWorkloadsPerQuery) || 0,
      this.opts.maxWorkloadsPerQuery,
    );
    const prefix = namespace ? `workload/${namespace}/${kind ? `${kind}/` : ''}` : 'workload/';
    const out: WorkloadEntry[] = [];
    for (const e of this.entries.withPrefix(prefix)) {
      if (out.length >= limit) break;
      if (e.type === 'workload' && (!kind || e.kind === kind)) out.push(e);
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ items: out }));
  }
}

/** A DNS subdomain name (RFC 1123), what Kubernetes allows as a node name. */
const NODE_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function sendError(res: ServerResponse, code: number, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify({ error: message }));
}

function knownPath(path: string): string {
  return path === SNAPSHOT_PATH || path === WATCH_PATH || path === WORKLOADS_PATH ? path : 'other';
}
