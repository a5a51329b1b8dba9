import { EventEmitter } from 'node:events';
import { WebSocket } from 'ws';
import { logger } from '../../lib/log.ts';
import {
  CLOSE_CODES,
  decodeMessage,
  encodeAnswer,
  encodeChunk,
  encodeControl,
  MAX_CHUNK_BYTES,
  PING_TEXT,
  PONG_TEXT,
  PROTOCOL_VERSION,
  READY_PING_TEXT,
  type RequestMessage,
  type TunnelErrorCode,
} from '../../lib/tunnel/index.ts';
import { bodyParts, sleep, untilAborted } from './abortable.ts';
import { Backoff, type BackoffOptions, DEFAULT_BACKOFF } from './backoff.ts';
import { coalesce } from './coalesce.ts';
import type { PortalLimits } from './limits.ts';
import { PortalMetrics } from './metrics.ts';
import { type QueryAnswer, type QueryContext, QueryError } from './query.ts';
import { tunnelUrl } from './tunnelUrl.ts';

/**
 * How long a partly filled frame waits for more of a body that is still coming: short, so a slow stream keeps
 * streaming, long enough that the pieces of an answer produced at once travel together.
 */
const COALESCE_QUIET_MS = 5;

export type ServeFn = (kind: string, params: unknown, ctx: QueryContext) => Promise<QueryAnswer>;

export interface TunnelClientOptions {
  /** The edge's base URL (http, https, ws or wss); the tunnel is at `<edgeUrl>/api/v1/tunnel/connect`. */
  edgeUrl: string;
  /**
   * The cluster's install token, or a function read before every dial (e.g. a file that a Kubernetes Secret
   * mount or `understory up` rewrites when the token is rotated); it throws when no token is available yet.
   */
  installToken: string | (() => string);
  /** Delay between attempts while `installToken` has no token yet (default 1 s). */
  tokenRetryMs?: number;
  /** Stable per process (e.g. the pod name). */
  replicaId: string;
  clusterId?: string | null;
  capabilities: string[];
  serve: ServeFn;
  limits: Pick<PortalLimits, 'maxInFlight' | 'maxTimeoutMs' | 'maxResponseBytes'>;
  backoff?: BackoffOptions;
  /** How often to send a ping; the connection is dropped after `idleTimeoutMs` without any message. */
  pingIntervalMs?: number;
  idleTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  metrics?: PortalMetrics;
  random?: () => number;
}

/** `connecting` lasts until the edge acknowledged the hello (READY_PING_TEXT answered): only `open` is usable. */
export type TunnelState = 'idle' | 'connecting' | 'open' | 'waiting' | 'stopped';

interface InFlight {
  abort: AbortController;
  kind: string;
  /** Set when the edge cancelled: nothing more is sent for this request. */
  silent: boolean;
  done: Promise<void>;
}

/** The abort reason when the tunnel drops: nothing can be sent any more. */
class TunnelGone extends Error {}

/**
 * The portal's side of the tunnel: dials OUT to the edge (no inbound port in the cluster), says hello, serves
 * requests concurrently and streams each answer as head, chunks, end. Reconnects with backoff and jitter.
 * All callbacks run on the Node event loop; the only shared state is `inFlight`, keyed by request id.
 *
 * Events: `state` (state: TunnelState, detail: string).
 */
export class TunnelClient extends EventEmitter {
  state: TunnelState = 'idle';
  lastError = '';
  openedAt = 0;
  private ws: WebSocket | undefined;
  private readonly url: string;
  private readonly inFlight = new Map<string, InFlight>();
  private readonly backoff: Backoff;
  private readonly metrics: PortalMetrics;
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private ackTimer: NodeJS.Timeout | undefined;
  private lastMessageAt = 0;
  /** Set when this side ends the connection, so the reason is not reported as the edge closing it. */
  private ownCloseReason: string | undefined;
  private readonly log = logger('portal-tunnel');
  /** The token of the latest attempt: a refusal is retried soon only if the token has changed since. */
  private usedToken = '';

  constructor(private readonly opts: TunnelClientOptions) {
    super();
    this.url = tunnelUrl(opts.edgeUrl);
    if (typeof opts.installToken === 'string' && !opts.installToken)
      throw new Error('cannot start the portal tunnel: no install token');
    this.backoff = new Backoff(opts.backoff ?? DEFAULT_BACKOFF, opts.random);
    this.metrics = opts.metrics ?? new PortalMetrics();
  }

  /** Starts dialling; resolves at once (the edge may be down: the client keeps trying). */
  start(): void {
    if (this.state !== 'idle') return;
    const host = new URL(this.url).hostname;
    if (this.url.startsWith('ws:') && !['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host))
      this.log.warn({ url: this.url }, 'the install token is sent without TLS: use an https edge URL');
    this.connect();
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.setState('stopped', 'shut down');
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    clearTimeout(this.ackTimer);
    // Requests still running get an `unavailable` answer while the socket is open, then the socket closes.
    const pending = [...this.inFlight.values()];
    for (const r of pending)
      r.abort.abort(new QueryError('unavailable', 'the portal is shutting down; retry shortly'));
    await Promise.race([Promise.all(pending.map((r) => r.done)), sleep(1000)]);
    const ws = this.ws;
    this.ws = undefined;
    if (ws && ws.readyState === WebSocket.OPEN) {
      const closed = new Promise((r) => ws.once('close', r));
      ws.close(CLOSE_CODES.goingAway, 'portal shutting down');
      await Promise.race([closed, sleep(1000)]);
    }
    ws?.terminate();
  }

  get requestsInFlight(): number {
    return this.inFlight.size;
  }

  private setState(state: TunnelState, detail: string): void {
    this.state = state;
    this.emit('state', state, detail);
  }

  private connect(): void {
    if (this.state === 'stopped') return;
    let token: string;
    try {
      token = typeof this.opts.installToken === 'string' ? this.opts.installToken : this.opts.installToken();
    } catch (err) {
      // Not an error of the edge: wait for the token to appear, at a short fixed interval (a local file read).
      this.lastError = `no install token yet: ${(err as Error).message}`;
      this.setState('waiting', this.lastError);
      this.retryTimer = setTimeout(() => this.connect(), this.opts.tokenRetryMs ?? 1000);
      return;
    }
    this.usedToken = token;
    this.setState('connecting', this.url);
    const ws = new WebSocket(this.url, {
      headers: { authorization: `Bearer ${token}` },
      handshakeTimeout: this.opts.handshakeTimeoutMs ?? 10_000,
      // The edge sends control messages only; a request bigger than the protocol allows is refused here.
      maxPayload: MAX_CHUNK_BYTES + 1024,
      perMessageDeflate: false,
    });
    this.ws = ws;
    ws.on('open', () => {
      this.metrics.connects.inc({ result: 'open' });
      this.metrics.connected.set(1);
      this.openedAt = Date.now();
      this.lastMessageAt = Date.now();
      ws.send(
        encodeControl({
          type: 'hello',
          version: PROTOCOL_VERSION,
          clusterId: this.opts.clusterId ?? null,
          replicaId: this.opts.replicaId,
          capabilities: this.opts.capabilities,
          software: 'understory-portal',
        }),
      );
      // The edge answers this ping only after it has taken the hello: then, and not before, queries can come.
      ws.send(READY_PING_TEXT);
      const ackWithin = this.opts.handshakeTimeoutMs ?? 10_000;
      this.ackTimer = setTimeout(() => {
        this.ownCloseReason = `the edge did not acknowledge the hello within ${ackWithin} ms`;
        ws.terminate();
      }, ackWithin);
      this.startPings(ws);
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.lastMessageAt = Date.now();
      if (this.state === 'connecting' && this.ws === ws) {
        clearTimeout(this.ackTimer);
        this.setState('open', this.url);
        this.log.info({ url: this.url }, 'tunnel open');
      }
      this.onMessage(ws, isBinary ? data : data.toString('utf8'));
    });
    ws.on('error', (err) => {
      this.lastError = err.message;
    });
    ws.on('close', (code: number, reason: Buffer) => this.onClose(ws, code, reason.toString('utf8')));
  }

  private onClose(ws: WebSocket, code: number, reason: string): void {
    if (this.ws !== ws && this.state !== 'stopped') return;
    clearInterval(this.pingTimer);
    clearTimeout(this.ackTimer);
    this.metrics.connected.set(0);
    const wasOpen = this.openedAt > 0;
    if (!wasOpen) this.metrics.connects.inc({ result: 'failed' });
    for (const r of this.inFlight.values()) r.abort.abort(new TunnelGone('the tunnel closed'));
    if (this.state === 'stopped') return;
    if (this.ownCloseReason) this.lastError = this.ownCloseReason;
    else if (wasOpen) this.lastError = `closed by the edge: ${code}${reason ? ` ${reason}` : ''}`;
    this.ownCloseReason = undefined;
    this.backoff.connectionLasted(wasOpen ? Date.now() - this.openedAt : 0);
    this.openedAt = 0;
    // Refusals that need an operator are retried at the longest delay rather than hammering the edge.
    const refused =
      code === CLOSE_CODES.unsupportedVersion ||
      code === CLOSE_CODES.unauthorized ||
      /\b40[13]\b/.test(this.lastError);
    const delay = refused ? this.maxDelay() : this.backoff.next();
    this.log.warn({ error: this.lastError, retryInMs: delay }, 'tunnel down; reconnecting');
    this.setState('waiting', this.lastError);
    this.retryAfter(delay, refused);
  }

  /**
   * Dials again after `delay`. While waiting out a refusal, a token source that is a function (a file) is read
   * every `tokenRetryMs`: a rotated token written there is used at once instead of after the long delay.
   */
  private retryAfter(delay: number, watchToken: boolean): void {
    const due = Date.now() + delay;
    const poll = this.opts.tokenRetryMs ?? 1000;
    const tick = () => {
      if (this.state === 'stopped') return;
      if (Date.now() >= due || (watchToken && this.tokenChanged())) {
        this.connect();
        return;
      }
      this.retryTimer = setTimeout(tick, Math.min(poll, due - Date.now()));
    };
    this.retryTimer = setTimeout(
      tick,
      watchToken && typeof this.opts.installToken !== 'string' ? Math.min(poll, delay) : delay,
    );
  }

  /** Whether the token source now gives another token than the one the last attempt used. */
  private tokenChanged(): boolean {
    if (typeof this.opts.installToken === 'string') return false;
    try {
      return this.opts.installToken() !== this.usedToken;
    } catch {
      return false;
    }
  }

  private maxDelay(): number {
    return (this.opts.backoff ?? DEFAULT_BACKOFF).maxMs;
  }

  private startPings(ws: WebSocket): void {
    const every = this.opts.pingIntervalMs ?? 20_000;
    const idle = this.opts.idleTimeoutMs ?? 3 * every;
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastMessageAt > idle) {
        this.ownCloseReason = `no message from the edge for ${idle} ms`;
        ws.terminate();
        return;
      }
      ws.send(PING_TEXT);
    }, every);
  }

  private onMessage(ws: WebSocket, raw: string | Buffer): void {
    let msg: ReturnType<typeof decodeMessage>;
    try {
      msg = decodeMessage(raw);
    } catch (err) {
      this.metrics.badMessages.inc();
      this.log.warn({ error: (err as Error).message }, 'ignored a bad message from the edge');
      return;
    }
    switch (msg.type) {
      case 'request':
        this.onRequest(ws, msg);
        return;
      case 'cancel': {
        const r = this.inFlight.get(msg.id);
        if (r) {
          r.silent = true;
          r.abort.abort(new QueryError('cancelled', 'cancelled by the caller'));
        }
        return;
      }
      case 'ping':
        ws.send(PONG_TEXT);
        return;
      case 'pong':
        return;
      default:
        this.metrics.badMessages.inc();
        this.log.warn({ type: msg.type }, 'ignored a message the edge should not send');
    }
  }

  private onRequest(ws: WebSocket, req: RequestMessage): void {
    if (this.inFlight.has(req.id)) {
      this.sendError(ws, req.id, 'bad_request', `request id ${req.id} is already in flight`);
      return;
    }
    if (this.inFlight.size >= this.opts.limits.maxInFlight || this.state === 'stopped') {
      this.metrics.requests.inc({ kind: req.kind, outcome: 'overloaded' });
      this.sendError(
        ws,
        req.id,
        'overloaded',
        `the portal is serving ${this.inFlight.size} requests; retry later`,
      );
      return;
    }
    const entry: InFlight = {
      abort: new AbortController(),
      kind: req.kind,
      silent: false,
      done: Promise.resolve(),
    };
    this.inFlight.set(req.id, entry);
    this.metrics.inFlight.set(this.inFlight.size);
    entry.done = this.serveRequest(ws, req, entry).finally(() => {
      this.inFlight.delete(req.id);
      this.metrics.inFlight.set(this.inFlight.size);
    });
  }

  private async serveRequest(ws: WebSocket, req: RequestMessage, entry: InFlight): Promise<void> {
    const started = performance.now();
    const signal = entry.abort.signal;
    const timeoutMs = Math.min(req.timeoutMs, this.opts.limits.maxTimeoutMs);
    const timer = setTimeout(
      () => entry.abort.abort(new QueryError('timeout', `the query took longer than ${timeoutMs} ms`)),
      timeoutMs,
    );
    let outcome = 'ok';
    try {
      // The handler may not stop at once when aborted (a ClickHouse query runs to its own limit): the answer
      // to the edge must not wait for it.
      const answer = await untilAborted(this.opts.serve(req.kind, req.params, { signal, timeoutMs }), signal);
      // Pieces are gathered into frames of up to MAX_CHUNK_BYTES (coalesce.ts). A body that is complete in the
      // first frame goes as one `answer` message; else head, chunks, end. Head and end are small and go out in
      // order on the same socket: only chunks wait for the write callback (backpressure).
      let seq = 0;
      let bytes = 0;
      let headSent = false;
      for await (const frame of coalesce(bodyParts(answer.body), MAX_CHUNK_BYTES, COALESCE_QUIET_MS)) {
        bytes += frame.bytes;
        if (bytes > this.opts.limits.maxResponseBytes)
          throw new QueryError(
            'too_large',
            `the answer is larger than ${this.opts.limits.maxResponseBytes} bytes`,
          );
        if (!headSent && frame.last) {
          await this.send(ws, encodeAnswer(req.id, answer.status, answer.contentType, frame.parts), signal);
          this.metrics.responseBytes.inc(bytes);
          return;
        }
        if (!headSent) {
          this.post(
            ws,
            encodeControl({
              type: 'head',
              id: req.id,
              status: answer.status,
              contentType: answer.contentType,
            }),
            signal,
          );
          headSent = true;
        }
        if (frame.bytes > 0) await this.send(ws, encodeChunk(req.id, seq++, frame.parts), signal);
      }
      this.post(ws, encodeControl({ type: 'end', id: req.id, chunks: seq, bytes }), signal);
      this.metrics.responseBytes.inc(bytes);
    } catch (err) {
      const reason = signal.aborted ? signal.reason : err;
      if (reason instanceof TunnelGone) outcome = 'tunnel_closed';
      else if (entry.silent) outcome = 'cancelled';
      else {
        const { code, message } = describeFailure(reason);
        outcome = code;
        if (code === 'internal') this.log.error({ err: reason, kind: req.kind, id: req.id }, 'query failed');
        this.sendError(ws, req.id, code, message);
      }
    } finally {
      clearTimeout(timer);
      this.metrics.requests.inc({ kind: req.kind, outcome });
      this.metrics.requestSeconds.observe({ kind: req.kind }, (performance.now() - started) / 1000);
    }
  }

  /** Sends one frame and waits until ws has handed it to the socket: per-request backpressure. */
  private send(ws: WebSocket, data: string | Uint8Array, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    return new Promise((resolve, reject) => {
      ws.send(data, (err) => (err ? reject(new TunnelGone(`cannot send: ${err.message}`)) : resolve()));
    });
  }

  /** Queues one small frame without waiting for it; a broken socket shows in the next send or its close. */
  private post(ws: WebSocket, data: string, signal: AbortSignal): void {
    signal.throwIfAborted();
    if (ws.readyState !== WebSocket.OPEN) throw new TunnelGone('cannot send: the tunnel is not open');
    ws.send(data);
  }

  private sendError(ws: WebSocket, id: string, code: TunnelErrorCode, message: string): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(encodeControl({ type: 'error', id, code, message: message.slice(0, 4096) }));
  }
}

function describeFailure(reason: unknown): { code: TunnelErrorCode; message: string } {
  if (reason instanceof QueryError) return { code: reason.code, message: reason.message };
  return { code: 'internal', message: 'the query failed inside the portal (details are in the portal log)' };
}
