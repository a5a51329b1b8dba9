import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';

export { ClusterTunnel } from './clusterTunnel.ts';

export const app = new Hono<{ Bindings: Env }>();

/** Liveness of the worker and its two stateful bindings: D1 answers a query, a Durable Object answers. */
app.get('/api/health', async (c) => {
  const d1 = await c.env.DB.prepare('SELECT 1 AS ok').first<{ ok: number }>();
  const stub = c.env.CLUSTER_TUNNEL.get(c.env.CLUSTER_TUNNEL.idFromName('health-probe'));
  const dobj = await stub.fetch('https://do/health');
  const ok = d1?.ok === 1 && dobj.ok;
  return c.json({ ok, d1: d1?.ok === 1, durableObjects: dobj.ok }, ok ? 200 : 503);
});

app.notFound((c) => c.json({ error: { code: 'not_found', message: `no route for ${c.req.path}` } }, 404));

/** One place turns errors into responses: HTTPException keeps its status, anything else is a 500. */
app.onError((err, c) => {
  if (err instanceof HTTPException) {
    return c.json({ error: { code: 'http_error', message: err.message } }, err.status);
  }
  console.error('unhandled error', err);
  return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
});

export default app;
