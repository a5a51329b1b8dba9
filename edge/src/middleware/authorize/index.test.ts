import { env } from 'cloudflare:workers';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { openDb } from '../../db.ts';
import type { AppEnv, Principal } from '../../env.ts';
import { ApiError } from '../../errors.ts';
import { declarePermission } from '../../routeRegistry.ts';
import { authorize } from './index.ts';

// A private app with its own routes: one of them deliberately declares no permission.
declarePermission('GET', '/authz-test/public', 'public');
declarePermission('GET', '/authz-test/account', 'account');
declarePermission('GET', '/authz-test/orgs/:orgId', 'org:read');

function appAs(principal: Principal | null) {
  const app = new Hono<AppEnv>();
  app.use(async (c, next) => {
    c.set('db', openDb(c.env.DB));
    c.set('principal', principal);
    await next();
  });
  app.use(authorize());
  app.get('/authz-test/public', (c) => c.text('ok'));
  app.get('/authz-test/account', (c) => c.text('ok'));
  app.get('/authz-test/orgs/:orgId', (c) => c.text(`role ${c.var.orgRole}`));
  app.get('/authz-test/forgotten', (c) => c.text('must never run'));
  app.onError((err, c) =>
    c.text(err instanceof ApiError ? err.code : 'x', err instanceof ApiError ? err.status : 500),
  );
  return app;
}

const session: Principal = { kind: 'session', userId: 'u', email: 'e', sessionIdHash: 'h', csrfToken: 'c' };
const token: Principal = {
  kind: 'token',
  tokenId: 't',
  orgId: 'org_1',
  userId: null,
  serviceAccountId: 's',
  scopes: ['read'],
};

describe('authorize', () => {
  it('fails closed for a route that declares no permission', async () => {
    const res = await appAs(session).request('/authz-test/forgotten', {}, env);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('internal');
  });

  it('lets anyone use public routes and asks others to sign in', async () => {
    expect((await appAs(null).request('/authz-test/public', {}, env)).status).toBe(200);
    expect((await appAs(null).request('/authz-test/account', {}, env)).status).toBe(401);
  });

  it('keeps account routes for browser sessions', async () => {
    expect((await appAs(session).request('/authz-test/account', {}, env)).status).toBe(200);
    expect((await appAs(token).request('/authz-test/account', {}, env)).status).toBe(403);
  });

  it('answers 404 for an organization the caller is not in, and gives tokens their scope role', async () => {
    expect((await appAs(session).request('/authz-test/orgs/org_1', {}, env)).status).toBe(404);
    expect((await appAs(token).request('/authz-test/orgs/org_2', {}, env)).status).toBe(404);
    const res = await appAs(token).request('/authz-test/orgs/org_1', {}, env);
    expect(await res.text()).toBe('role viewer');
  });
});
