import { DurableObject } from 'cloudflare:workers';

/**
 * One Durable Object per cluster (addressed with `idFromName(clusterId)`): it will hold the portal's
 * WebSocket and route queries to it (tunnel issue). For now it answers its own health probe, which lets
 * `/api/health` prove that Durable Objects work in this deployment.
 */
export class ClusterTunnel extends DurableObject<Env> {
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/health') {
      return Response.json({ ok: true });
    }
    return new Response('not found', { status: 404 });
  }
}
