/**
 * The portal sockets a cluster's Durable Object holds, as workerd keeps them across hibernation
 * (`ctx.getWebSockets()` plus each socket's `serializeAttachment`). Pure reads: nothing here sends or closes.
 */
import { TUNNEL_LIMITS } from './limits.ts';

/** What each portal socket carries through hibernation (`serializeAttachment`). */
export type SocketState = {
  clusterId: string;
  /** SHA-256 of the install token this socket was opened with. */
  tokenHash: string;
  connectedAt: number;
  /** Set by the portal's hello; a socket without one is not used for queries. */
  replicaId: string | null;
  capabilities: string[];
};

export type PortalSocket = { ws: WebSocket; state: SocketState };

export function socketState(ws: WebSocket): SocketState | null {
  return ws.deserializeAttachment() as SocketState | null;
}

/** Sockets that said hello and are open. */
export function readySockets(ctx: DurableObjectState): PortalSocket[] {
  return ctx.getWebSockets().flatMap((ws) => {
    const state = socketState(ws);
    return state?.replicaId && ws.readyState === WebSocket.OPEN ? [{ ws, state }] : [];
  });
}

/** An open socket of `kind`'s servers, at random (spreads load over replicas), other than `except`. */
export function pickSocket(
  ctx: DurableObjectState,
  kind: string,
  except?: WebSocket,
): PortalSocket | undefined {
  const sockets = readySockets(ctx).filter(
    ({ ws, state }) => ws !== except && state.capabilities.includes(kind),
  );
  return sockets[Math.floor(Math.random() * sockets.length)];
}

/** Open sockets still inside their time to say hello: a portal that has just (re)connected. */
export function helloPending(ctx: DurableObjectState, now = Date.now()): boolean {
  return ctx.getWebSockets().some((ws) => {
    const state = socketState(ws);
    return (
      state !== null &&
      !state.replicaId &&
      ws.readyState === WebSocket.OPEN &&
      state.connectedAt + TUNNEL_LIMITS.helloTimeoutMs > now
    );
  });
}

/** Splits the sockets without a hello into overdue ones and the time the next one falls due (or null). */
export function helloDeadlines(ctx: DurableObjectState, now = Date.now()) {
  const overdue: WebSocket[] = [];
  let next: number | null = null;
  for (const ws of ctx.getWebSockets()) {
    const state = socketState(ws);
    if (!state || state.replicaId || ws.readyState !== WebSocket.OPEN) continue;
    const due = state.connectedAt + TUNNEL_LIMITS.helloTimeoutMs;
    if (due <= now) overdue.push(ws);
    else next = next === null ? due : Math.min(next, due);
  }
  return { overdue, next };
}
