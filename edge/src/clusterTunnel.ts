import { DurableObject } from 'cloudflare:workers';
import {
  CLOSE_CODES,
  decodeMessage,
  MIN_PROTOCOL_VERSION,
  PING_TEXT,
  PONG_TEXT,
  PROTOCOL_VERSION,
  TunnelDecodeError,
  type TunnelMessage,
  TunnelRequestError,
} from '../../lib/tunnel/index.ts';
import { recordClusterConnection } from './clusters/connectionStatus.ts';
import { admitTestSendInStorage } from './monitors/testSendLimit.ts';
import { SocketHeartbeat } from './tunnel/heartbeat.ts';
import { TUNNEL_LIMITS } from './tunnel/limits.ts';
import { callerBody, PendingQuery } from './tunnel/pendingQuery.ts';
import {
  helloDeadlines,
  helloPending,
  type PortalSocket,
  pickSocket,
  readySockets,
  type SocketState,
  socketState,
} from './tunnel/portalSockets.ts';
import {
  CLUSTER_ID_HEADER,
  TOKEN_HASH_HEADER,
  type TokenChange,
  type TunnelQuery,
  tunnelErrorResponse,
} from './tunnel/protocol.ts';

/**
 * One Durable Object per cluster (addressed with `idFromName(clusterId)`). It holds the WebSockets of the
 * cluster's portal replicas (hibernation API: an idle tunnel costs nothing, pings are answered by workerd's
 * auto-response without waking it) and routes queries to them: each query gets an id, goes to one open socket,
 * and its answer (head, binary chunks, end) is reassembled and streamed to the caller as it arrives.
 *
 * Internal endpoints, reached only through the worker (which authenticates first):
 * - `GET /connect` (WebSocket upgrade, header x-understory-cluster-id): a portal's tunnel;
 * - `POST /query` with a TunnelQuery JSON body: one query; answers the portal's status and body, or a JSON error;
 * - `POST /token` with a TokenChange body: the install token was rotated or the cluster deleted;
 * - `POST /test-send` with `{ targetId }`: may that notification target be sent a test now (and count it)?
 *   (monitors/testSendLimit.ts);
 * - `GET /health`: used by /api/health.
 */
export class ClusterTunnel extends DurableObject<Env> {
  private readonly pending = new Map<string, PendingQuery>();
  /** Called when a socket says hello: queries waiting for a portal that has just connected. */
  private readonly helloWaiters = new Set<() => void>();
  private lastSeenWrittenAt = 0;
  /** Finds portals that vanished without a close frame while they hold queries (heartbeat.ts). */
  private readonly heartbeat: SocketHeartbeat;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_TEXT, PONG_TEXT));
    this.heartbeat = new SocketHeartbeat(
      ctx,
      () => this.busySockets(),
      (ws, reason) => this.closeSocket(ws, CLOSE_CODES.unresponsive, reason),
    );
  }

  private busySockets(): Set<WebSocket> {
    const busy = new Set<WebSocket>();
    for (const q of this.pending.values()) if (q.socket) busy.add(q.socket);
    return busy;
  }

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/health') return Response.json({ ok: true });
    if (url.pathname === '/connect') return await this.acceptPortal(request);
    if (url.pathname === '/query' && request.method === 'POST') return this.query(request);
    if (url.pathname === '/token' && request.method === 'POST') return this.tokenChanged(request);
    if (url.pathname === '/test-send' && request.method === 'POST') {
      const { targetId } = (await request.json()) as { targetId: string };
      return Response.json(await admitTestSendInStorage(this.ctx.storage, targetId));
    }
    return new Response('not found', { status: 404 });
  }

  private async acceptPortal(request: Request): Promise<Response> {
    const clusterId = request.headers.get(CLUSTER_ID_HEADER);
    const tokenHash = request.headers.get(TOKEN_HASH_HEADER);
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket' || !clusterId || !tokenHash)
      return new Response('expected a WebSocket upgrade', { status: 426 });
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    const state: SocketState = {
      clusterId,
      tokenHash,
      connectedAt: Date.now(),
      replicaId: null,
      capabilities: [],
    };
    server.serializeAttachment(state);
    // An alarm survives hibernation: a socket that never says hello is closed even if nothing else happens.
    const due = state.connectedAt + TUNNEL_LIMITS.helloTimeoutMs;
    const alarm = await this.ctx.storage.getAlarm();
    if (alarm === null || alarm > due) await this.ctx.storage.setAlarm(due);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Closes sockets past their time to say hello (4408) and waits for the next one due. */
  override async alarm(): Promise<void> {
    const { overdue, next } = helloDeadlines(this.ctx);
    for (const ws of overdue)
      this.closeSocket(ws, CLOSE_CODES.helloTimeout, `no hello within ${TUNNEL_LIMITS.helloTimeoutMs} ms`);
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }

  private async query(request: Request): Promise<Response> {
    // Read the whole forwarded body before answering (workerd requires it of a Durable Object).
    const query = (await request.json()) as TunnelQuery;
    if (this.pending.size >= TUNNEL_LIMITS.maxInFlight)
      return tunnelErrorResponse(
        429,
        'overloaded',
        `cannot accept more than ${TUNNEL_LIMITS.maxInFlight} queries in flight`,
      );
    let target = pickSocket(this.ctx, query.kind);
    if (!target && helloPending(this.ctx)) {
      // A portal has just (re)connected (a restart, a replica taking over): its hello is a moment away.
      await this.waitForHello(query.kind);
      target = pickSocket(this.ctx, query.kind);
    }
    if (!target) return this.noPortal(query.kind);
    const pending = new PendingQuery(
      {
        type: 'request',
        id: crypto.randomUUID(),
        kind: query.kind,
        params: query.params,
        timeoutMs: query.timeoutMs,
      },
      query.timeoutMs + TUNNEL_LIMITS.deadlineGraceMs,
      (q) => this.pending.delete(q.id),
    );
    this.pending.set(pending.id, pending);
    request.signal?.addEventListener('abort', () =>
      pending.cancel(new TunnelRequestError('cancelled', 'the caller went away')),
    );
    this.send(pending, target);
    try {
      const head = await pending.assembler.head;
      // A whole answer goes back as bytes: no stream to pump through the hops to the caller.
      const whole = pending.assembler.whole;
      return new Response(whole ?? callerBody(pending), {
        status: head.status,
        headers: { 'content-type': head.contentType, 'cache-control': 'no-store' },
      });
    } catch (err) {
      if (err instanceof TunnelRequestError) return tunnelErrorResponse(err.status, err.code, err.message);
      throw err;
    }
  }

  private noPortal(kind: string): Response {
    return readySockets(this.ctx).length > 0
      ? tunnelErrorResponse(501, 'not_implemented', `the cluster's portal does not serve ${kind} queries`)
      : tunnelErrorResponse(
          503,
          'cluster_not_connected',
          'cannot reach the cluster: its portal is not connected',
        );
  }

  /**
   * `POST /token` from the clusters API: the install token was rotated (its new hash) or the cluster deleted
   * (null). Portals using another token are closed with 4401, hello or not; they fail to reconnect with it.
   */
  private async tokenChanged(request: Request): Promise<Response> {
    const { installTokenHash } = (await request.json()) as TokenChange;
    let closed = 0;
    for (const ws of this.ctx.getWebSockets()) {
      const state = socketState(ws);
      if (state && state.tokenHash !== installTokenHash && ws.readyState === WebSocket.OPEN) {
        const why = installTokenHash ? 'the install token was rotated' : 'the cluster was deleted';
        this.closeSocket(ws, CLOSE_CODES.unauthorized, why);
        closed++;
      }
    }
    return Response.json({ closed });
  }

  /** Resolves when a socket serving `kind` said hello, or after TUNNEL_LIMITS.helloWaitMs. */
  private waitForHello(kind: string): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.helloWaiters.delete(check);
        resolve();
      };
      const check = () => {
        if (pickSocket(this.ctx, kind)) done();
      };
      const timer = setTimeout(done, TUNNEL_LIMITS.helloWaitMs);
      this.helloWaiters.add(check);
    });
  }

  private send(pending: PendingQuery, target: PortalSocket): void {
    try {
      pending.dispatch(target.ws);
      this.heartbeat.watch(target.ws);
    } catch (err) {
      void this.redispatch(pending, `cannot send the query to the portal: ${String(err)}`);
    }
  }

  /**
   * The socket a query was sent on went away. If no part of the answer has arrived, the query (read-only) is
   * sent to another replica, or to a portal that is reconnecting right now; else it fails with 503.
   */
  private async redispatch(pending: PendingQuery, why: string): Promise<void> {
    const gone = pending.socket;
    const fail = () =>
      pending.fail(new TunnelRequestError('unavailable', `cannot complete the query: ${why}`));
    if (pending.assembler.finished) return;
    if (pending.answerStarted || pending.dispatches >= TUNNEL_LIMITS.maxDispatches) return fail();
    pending.socket = undefined; // late messages of the old socket are dropped from now on
    let target = pickSocket(this.ctx, pending.request.kind, gone);
    if (!target && helloPending(this.ctx)) {
      await this.waitForHello(pending.request.kind);
      if (pending.assembler.finished) return;
      target = pickSocket(this.ctx, pending.request.kind, gone);
    }
    if (!target) return fail();
    this.send(pending, target);
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    this.heartbeat.heard(ws);
    let msg: TunnelMessage;
    try {
      msg = decodeMessage(raw);
    } catch (err) {
      const reason = err instanceof TunnelDecodeError ? err.reason : 'bad message';
      this.closeSocket(ws, CLOSE_CODES.badMessage, reason.slice(0, 100));
      return;
    }
    const state = socketState(ws) as SocketState;
    switch (msg.type) {
      case 'hello':
        return this.hello(ws, state, msg);
      case 'head':
      case 'answer':
      case 'chunk':
      case 'end':
      case 'error': {
        const pending = this.pending.get(msg.id);
        // Late answers to cancelled or timed-out queries are expected; drop them.
        if (pending && pending.socket === ws) pending.accept(msg);
        break;
      }
      case 'ping':
        ws.send(PONG_TEXT);
        break;
      case 'pong':
        break;
      default:
        this.closeSocket(ws, CLOSE_CODES.badMessage, `a portal may not send ${msg.type}`);
        return;
    }
    await this.touch(state.clusterId);
  }

  private async hello(
    ws: WebSocket,
    state: SocketState,
    msg: Extract<TunnelMessage, { type: 'hello' }>,
  ): Promise<void> {
    if (msg.version < MIN_PROTOCOL_VERSION || msg.version > PROTOCOL_VERSION) {
      this.closeSocket(
        ws,
        CLOSE_CODES.unsupportedVersion,
        `the edge speaks tunnel versions ${MIN_PROTOCOL_VERSION}..${PROTOCOL_VERSION}`,
      );
      return;
    }
    // A replica that reconnects before its old socket timed out: the old one is stale.
    for (const other of readySockets(this.ctx)) {
      if (other.ws !== ws && other.state.replicaId === msg.replicaId)
        this.closeSocket(other.ws, CLOSE_CODES.replaced, 'replaced by a newer connection of this replica');
    }
    ws.serializeAttachment({ ...state, replicaId: msg.replicaId, capabilities: msg.capabilities });
    for (const check of [...this.helloWaiters]) check();
    await recordClusterConnection(this.env.DB, state.clusterId, 'connected');
    this.lastSeenWrittenAt = Date.now();
  }

  /** Refreshes last-seen in D1, at most once per TUNNEL_LIMITS.lastSeenEveryMs. */
  private async touch(clusterId: string): Promise<void> {
    const now = Date.now();
    if (now - this.lastSeenWrittenAt < TUNNEL_LIMITS.lastSeenEveryMs) return;
    this.lastSeenWrittenAt = now;
    await recordClusterConnection(this.env.DB, clusterId, 'connected', now);
  }

  /** Closes a socket from our side and fails what was in flight on it at once. */
  private closeSocket(ws: WebSocket, code: number, reason: string): void {
    try {
      ws.close(code, reason);
    } catch {
      // already closed
    }
    this.failInFlight(ws, `the portal connection was closed (${reason})`);
  }

  private failInFlight(ws: WebSocket, why: string): void {
    for (const pending of [...this.pending.values()]) {
      if (pending.socket === ws) void this.redispatch(pending, why);
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // already closed
    }
    await this.socketGone(ws, `the cluster's portal disconnected (code ${code})`);
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    await this.socketGone(ws, `the tunnel failed: ${String(error)}`);
  }

  private async socketGone(ws: WebSocket, why: string): Promise<void> {
    this.heartbeat.forget(ws);
    this.failInFlight(ws, why);
    const state = socketState(ws);
    if (!state) return;
    const others = readySockets(this.ctx).filter((s) => s.ws !== ws);
    if (others.length === 0) await recordClusterConnection(this.env.DB, state.clusterId, 'disconnected');
  }
}
