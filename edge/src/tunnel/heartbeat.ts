/**
 * Liveness of the portal sockets that carry queries. A portal that vanishes without a close frame (power loss,
 * a network partition, a frozen process) leaves its socket open as far as workerd knows, and TCP may take
 * minutes to notice; without this the queries sent to it would wait for their deadline (up to 32 s).
 *
 * While a socket has queries in flight, the Durable Object checks it every `checkEveryMs`: after `probeAfterMs`
 * without any message from it (answers, pongs, its own pings that workerd auto-answered) it sends a ping, which
 * a live portal answers at once whatever it is doing; after `deadAfterMs` of silence the socket is declared
 * dead and `onDead` fails or re-routes its queries (503 `unavailable` when no other replica can take them).
 * Idle sockets are not probed (the portal's own pings keep an idle tunnel alive), and the timer stops when
 * nothing is in flight, so the Durable Object can hibernate. Single-threaded (the Durable Object's event loop).
 */
import { PING_TEXT } from '../../../lib/tunnel/index.ts';
import { TUNNEL_LIMITS } from './limits.ts';

export interface HeartbeatLimits {
  checkEveryMs: number;
  probeAfterMs: number;
  deadAfterMs: number;
}

export class SocketHeartbeat {
  /** When each socket was last heard from (any message), as seen by this Durable Object while awake. */
  private readonly heardAt = new Map<WebSocket, number>();
  private readonly probedAt = new Map<WebSocket, number>();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly ctx: DurableObjectState,
    /** The sockets that carry queries right now. */
    private readonly busySockets: () => Set<WebSocket>,
    /** Fails or re-routes the socket's queries; `reason` goes into their 503. */
    private readonly onDead: (ws: WebSocket, reason: string) => void,
    private readonly limits: HeartbeatLimits = TUNNEL_LIMITS.heartbeat,
  ) {}

  /** Any message from `ws` is a sign of life. */
  heard(ws: WebSocket, now = Date.now()): void {
    this.heardAt.set(ws, now);
    this.probedAt.delete(ws);
  }

  /** A query was sent on `ws`: make sure it is watched (its silence counts from its last sign of life). */
  watch(ws: WebSocket, now = Date.now()): void {
    if (!this.heardAt.has(ws)) this.heardAt.set(ws, now);
    this.timer ??= setInterval(() => this.check(), this.limits.checkEveryMs);
  }

  forget(ws: WebSocket): void {
    this.heardAt.delete(ws);
    this.probedAt.delete(ws);
  }

  /** One round: probe the quiet sockets, declare the silent ones dead; stops when nothing is in flight. */
  check(now = Date.now()): void {
    const busy = this.busySockets();
    if (busy.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    for (const ws of busy) {
      if (ws.readyState === WebSocket.CLOSED) {
        // Closed without its close event reaching us (seen under load): the queries must not wait for it.
        this.forget(ws);
        this.onDead(ws, "the cluster's portal disconnected (its socket is closed)");
        continue;
      }
      const silent = now - this.lastSign(ws, now);
      if (silent >= this.limits.deadAfterMs) {
        this.forget(ws);
        this.onDead(ws, `the portal sent nothing for ${silent} ms`);
      } else if (silent >= this.limits.probeAfterMs && !this.probedAt.has(ws)) {
        this.probedAt.set(ws, now);
        try {
          ws.send(PING_TEXT);
        } catch {
          // Closing already: its close handler (or the next round) fails the queries.
        }
      }
    }
  }

  private lastSign(ws: WebSocket, now: number): number {
    if (!this.heardAt.has(ws)) this.heardAt.set(ws, now);
    // The portal's own pings are answered by workerd without waking us: they count as signs of life too.
    let auto = 0;
    try {
      auto = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
    } catch {
      // Not a hibernatable socket any more (closing): only our own record counts.
    }
    return Math.max(this.heardAt.get(ws)!, auto);
  }
}
