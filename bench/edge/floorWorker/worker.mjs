/**
 * The least a tunnelled query can cost in the local Workers runtime: the same shape as the edge (assets router
 * in front, a worker, one Durable Object holding a hibernatable WebSocket to a Node process, the answer back),
 * with none of our code (no hono, no auth, no validation, no framing). tunnel.bench.ts runs it beside the edge
 * to split the added latency into the runtime's part and ours.
 * - GET /api/plain: a response straight from the worker;
 * - GET /api/connect (WebSocket upgrade): the Node side's socket;
 * - GET /api/relay?<query>: the query string goes over the socket as `<id>\n<query>`; the Node side answers
 *   `<id>\n<body>`, returned as the response.
 */
import { DurableObject } from 'cloudflare:workers';

export class Relay extends DurableObject {
  waiting = new Map();
  next = 0;

  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/api/connect') {
      const [client, server] = Object.values(new WebSocketPair());
      this.ctx.acceptWebSocket(server);
      return new Response(null, { status: 101, webSocket: client });
    }
    const ws = this.ctx.getWebSockets()[0];
    if (!ws) return new Response('no socket', { status: 503 });
    const id = String(this.next++);
    const body = new Promise((resolve) => this.waiting.set(id, resolve));
    ws.send(`${id}\n${url.search.slice(1)}`);
    return new Response(await body, { headers: { 'content-type': 'application/json' } });
  }

  webSocketMessage(_ws, message) {
    const text = typeof message === 'string' ? message : new TextDecoder().decode(message);
    const nl = text.indexOf('\n');
    const id = text.slice(0, nl);
    this.waiting.get(id)?.(text.slice(nl + 1));
    this.waiting.delete(id);
  }
}

export default {
  async fetch(request, env) {
    if (new URL(request.url).pathname === '/api/plain') return new Response('ok');
    return env.RELAY.get(env.RELAY.idFromName('one')).fetch(request);
  },
};
