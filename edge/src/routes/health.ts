import { z } from '@hono/zod-openapi';
import type { App } from '../app.ts';
import { defineRoute } from '../routeRegistry.ts';
import { json } from '../schemas.ts';

const Health = z.object({ ok: z.boolean(), d1: z.boolean(), durableObjects: z.boolean() });

const health = defineRoute({
  method: 'get',
  path: '/api/health',
  permission: 'public',
  summary: 'Liveness of the worker, D1 and Durable Objects',
  responses: { 200: json(Health, 'all answer'), 503: json(Health, 'a binding does not answer') },
});

export function registerHealthRoutes(app: App) {
  app.openapi(health, async (c) => {
    const d1 = await c.env.DB.prepare('SELECT 1 AS ok').first<{ ok: number }>();
    const stub = c.env.CLUSTER_TUNNEL.get(c.env.CLUSTER_TUNNEL.idFromName('health-probe'));
    const dobj = await stub.fetch('https://do/health');
    const ok = d1?.ok === 1 && dobj.ok;
    return c.json({ ok, d1: d1?.ok === 1, durableObjects: dobj.ok }, ok ? 200 : 503);
  });
}
