import { env } from 'cloudflare:workers';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '../../env.ts';
import { requestContext } from './index.ts';

describe('requestContext', () => {
  const app = new Hono<AppEnv>();
  app.use(requestContext());
  app.get('/', (c) =>
    c.json({ ip: c.var.ip, ua: c.var.userAgent, principal: c.var.principal, db: !!c.var.db }),
  );

  it('takes the client address from CF-Connecting-IP and bounds the user agent', async () => {
    const res = await app.request(
      '/',
      { headers: { 'cf-connecting-ip': '192.0.2.9', 'user-agent': 'x'.repeat(1000) } },
      env,
    );
    const body = (await res.json()) as { ip: string; ua: string; principal: null; db: boolean };
    expect(body.ip).toBe('192.0.2.9');
    expect(body.ua).toHaveLength(256);
    expect(body.principal).toBeNull();
    expect(body.db).toBe(true);
  });

  it('leaves the address empty when the edge did not set it', async () => {
    const res = await app.request('/', {}, env);
    expect(((await res.json()) as { ip: string | null }).ip).toBeNull();
  });
});
