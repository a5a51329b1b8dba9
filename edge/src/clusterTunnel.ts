import { DurableObject } from 'cloudflare:workers';
import {
  CLOSE_CODES,
  decodeMessage,
  encodeControl,
  PING_TEXT,
  PONG_TEXT,
  PROTOCOL_VERSION,
  TunnelDecodeError,
  type TunnelMessage,
  TunnelRequestError,
} from '../../lib/tunnel/index.ts';
import { recordClusterConnection } from './clusters/connectionStatus.ts';
import { TUNNEL_LIMITS } from './tunnel/limits.ts';
import { callerBody, PendingQuery } from './tunnel/pendingQuery.ts';
import {
  CLUSTER_ID_HEADER,
  TOKEN_HASH_HEADER,
  type TunnelQuery,
  tunnelErrorResponse,
} from './tunnel/protocol.ts';

/** What each portal socket carries through hibernation (`serializeAttachment`). */
type SocketState = {
  clusterId: string;
  /** SHA-256 of the install token this socket was opened with. */
  tokenHash: string;
  connectedAt: number;
  /** Set by the portal's hello; a socket without one is not used for queries. */
  replicaId: string | null;
  capabilities: string[];
};

/**
 * One Durable Object per cluster (addressed with `idFromName(clusterId)`). It holds the WebSockets of the
 * cluster's portal replicas (hibernation API: an idle tunnel costs nothing, pings are answered by workerd's
 * auto-response without waking it) and routes queries to them: each query gets an id, goes to one open socket,
 * and its answer (head, binary chunks, end) is reassembled and streamed to the caller as it arrives.
 *
 * Internal endpoints, reached only through the worker (which authenticates first):
 * - `GET /connect` (WebSocket upgrade, header x-understory-cluster-id): a portal's tunnel;
 * - `POST /query` with a TunnelQuery JSON body: one query; answers the portal's status and body, or a JSON error;
 * - `GET /health`: used by /api/health.
 */
export class ClusterTunnel extends DurableObject<Env> {
  private readonly pending = new Map<string, PendingQuery>();
  private lastSeenWrittenAt = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_TEXT, PONG_TEXT));
  }

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/health') return Response.json({ ok: true });
    if (url.pathname === '/connect') return this.acceptPortal(request);
    if (url.pathname === '/query' && request.method === 'POST') return this.query(request);
    return new Response('not found', { status: 404 });
  }

  private acceptPortal(request: Request): Response {
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
    return new Response(null, { status: 101, webSocket: client });
  }

  private async query(request: Request): Promise<Response> {
    // Read the whole forwarded body before answering (workerd requires it of a Durable Object).
    const query = (await request.json()) as TunnelQuery;
    // A rotated install token (or a deleted cluster's) ends the portals that still use it.
    for (const { ws, state } of this.readySockets()) {
      if (state.tokenHash !== query.installTokenHash)
        this.closeSocket(ws, CLOSE_CODES.unauthorized, 'the install token was rotated');
    }
    const sockets = this.readySockets().filter(({ state }) => state.capabilities.includes(query.kind));
    if (sockets.length === 0) {
      const connected = this.readySockets().length > 0;
      return connected
        ? tunnelErrorResponse(
            501,
            'not_implemented',
            `the cluster's portal does not serve ${query.kind} queries`,
          )
        : tunnelErrorResponse(
            503,
            'cluster_not_connected',
            'cannot reach the cluster: its portal is not connected',
          );
    }
    if (this.pending.size >= TUNNEL_LIMITS.maxInFlight)
      return tunnelErrorResponse(
        429,
        'overloaded',
        `cannot accept more than ${TUNNEL_LIMITS.maxInFlight} queries in flight`,
      );
    // Any open replica will do; spreading at random keeps one replica from taking everything.
    const { ws } = sockets[Math.floor(Math.random() * sockets.length)]!;
    const id = crypto.randomUUID();
    const pending = new PendingQuery(id, ws, query.timeoutMs + TUNNEL_LIMITS.deadlineGraceMs, (q) =>
      this.pending.delete(q.id),
    );
    this.pending.set(id, pending);
    request.signal?.addEventListener('abort', () =>
      pending.cancel(new TunnelRequestError('cancelled', 'the caller went away')),
    );
    try {
      ws.send(
        encodeControl({
          type: 'request',
          id,
          kind: query.kind,
          params: query.params,
          timeoutMs: query.timeoutMs,
        }),
      );
    } catch (err) {
      pending.fail(
        new TunnelRequestError('unavailable', `cannot send the query to the portal: ${String(err)}`),
      );
    }
    try {
      const head = await pending.assembler.head;
      return new Response(callerBody(pending), {
        status: head.status,
        headers: { 'content-type': head.contentType, 'cache-control': 'no-store' },
      });
    } catch (err) {
      if (err instanceof TunnelRequestError) return tunnelErrorResponse(err.status, err.code, err.message);
      throw err;
    }
  }

  /** Sockets that said hello and are open. */
  private readySockets(): { ws: WebSocket; state: SocketState }[] {
    return this.ctx.getWebSockets().flatMap((ws) => {
      const state = ws.deserializeAttachment() as SocketState | null;
      return state?.replicaId && ws.readyState === WebSocket.OPEN ? [{ ws, state }] : [];
    });
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    let msg: TunnelMessage;
    try {
      msg = decodeMessage(raw);
    } catch (err) {
      const reason = err instanceof TunnelDecodeError ? err.reason : 'bad message';
      this.closeSocket(ws, CLOSE_CODES.badMessage, reason.slice(0, 100));
      return;
    }
    const state = ws.deserializeAttachment() as SocketState;
    switch (msg.type) {
      case 'hello':
        return this.hello(ws, state, msg);
      case 'head':
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
    if (msg.version !== PROTOCOL_VERSION) {
      this.closeSocket(
        ws,
        CLOSE_CODES.unsupportedVersion,
        `the edge speaks tunnel version ${PROTOCOL_VERSION}`,
      );
      return;
    }
    // A replica that reconnects before its old socket timed out: the old one is stale.
    for (const other of this.readySockets()) {
      if (other.ws !== ws && other.state.replicaId === msg.replicaId)
        this.closeSocket(other.ws, CLOSE_CODES.replaced, 'replaced by a newer connection of this replica');
    }
    ws.serializeAttachment({ ...state, replicaId: msg.replicaId, capabilities: msg.capabilities });
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
      if (pending.socket === ws)
        pending.fail(new TunnelRequestError('unavailable', `cannot complete the query: ${why}`));
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
    this.failInFlight(ws, why);
    const state = ws.deserializeAttachment() as SocketState | null;
    if (!state) return;
    const others = this.readySockets().filter((s) => s.ws !== ws);
    if (others.length === 0) await recordClusterConnection(this.env.DB, state.clusterId, 'disconnected');
  }
}
