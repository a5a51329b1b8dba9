import { env } from 'cloudflare:workers';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createApiToken } from '../../auth/apiTokens.ts';
import { authCache } from '../../auth/authCache.ts';
import { newId } from '../../crypto/secrets.ts';
import { openDb, schema } from '../../db.ts';
import type { AppEnv } from '../../env.ts';
import { ApiError } from '../../errors.ts';
import { requestContext } from '../requestContext/index.ts';
import { authenticate } from './index.ts';

const app = new Hono<AppEnv>();
app.use(requestContext());
app.use(authenticate());
app.get('/', (c) => c.json({ principal: c.var.principal }));
app.onError((err, c) =>
  c.text(err instanceof ApiError ? err.code : String(err), err instanceof ApiError ? err.status : 500),
);

async function serviceToken(expiresAt: number | null = null) {
  const db = openDb(env.DB);
  const orgId = newId('org');
  await db
    .insert(schema.orgs)
    .values({ id: orgId, slug: orgId.toLowerCase().replaceAll('_', '-'), name: 'o', createdAt: 0 });
  const saId = newId('sa');
  await db
    .insert(schema.serviceAccounts)
    .values({ id: saId, orgId, name: 'sa', createdBy: 'test', createdAt: 0 });
  return createApiToken(db, {
    orgId,
    serviceAccountId: saId,
    name: 't',
    scopes: ['read'],
    expiresAt,
    createdBy: 'test',
  });
}

const get = (headers: Record<string, string> = {}) => app.request('/', { headers }, env);

describe('authenticate', () => {
  it('lets anonymous requests through with no principal', async () => {
    expect(await (await get()).json()).toEqual({ principal: null });
  });

  it('turns a live bearer token into a token principal and records its use', async () => {
    const { token, row } = await serviceToken();
    const res = await get({ authorization: `Bearer ${token}` });
    const body = (await res.json()) as { principal: { kind: string; tokenId: string; scopes: string[] } };
    expect(body.principal).toMatchObject({ kind: 'token', tokenId: row.id, scopes: ['read'] });
    const used = await env.DB.prepare('SELECT last_used_at FROM api_tokens WHERE id = ?')
      .bind(row.id)
      .first();
    expect(Number(used?.last_used_at)).toBeGreaterThan(0);
  });

  it.each([
    ['garbage', 'Bearer nope'],
    ['a well-formed unknown token', 'Bearer ust_sat_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a non-bearer scheme', 'Basic dXNlcjpwYXNz'],
  ])('refuses %s with 401 (no fall-back to the cookie)', async (_name, authorization) => {
    const res = await get({ authorization });
    expect(res.status).toBe(401);
  });

  it('refuses revoked tokens (within the cache bound) and expired ones at once', async () => {
    const live = await serviceToken();
    expect((await get({ authorization: `Bearer ${live.token}` })).status).toBe(200);
    await env.DB.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ?')
      .bind(Date.now(), live.row.id)
      .run();
    // Written behind the isolate: seen within AUTH_CACHE_TTL_MS (test/authCache.test.ts); not waited for here.
    authCache.clear();
    expect((await get({ authorization: `Bearer ${live.token}` })).status).toBe(401);
    const expired = await serviceToken(Date.now() - 1);
    expect((await get({ authorization: `Bearer ${expired.token}` })).status).toBe(401);
  });
});
