/**
 * The revocation bound of the per-isolate auth cache (src/auth/authCache.ts), end to end through the worker:
 * a change made through the API is seen at once; a change this isolate did not make (another isolate's, played
 * here by writing D1 directly) within AUTH_CACHE_TTL_MS.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { AUTH_CACHE_TTL_MS } from '../src/auth/authCache.ts';
import { call, callJson } from './client.ts';
import { createOrgWorld, type OrgWorld } from './fixtures.ts';

let w: OrgWorld;
beforeAll(async () => {
  w = await createOrgWorld();
}, 60_000);

async function newReadToken(): Promise<{ id: string; token: string }> {
  const res = await callJson<{ id: string; token: string }>('POST', `/api/orgs/${w.orgId}/tokens`, {
    as: w.members.viewer,
    body: { name: `t-${Math.random()}`, scopes: ['read'] },
  });
  expect(res.status).toBe(201);
  return res.body;
}

const clustersPath = () => `/api/orgs/${w.orgId}/clusters`;

describe('auth cache revocation bound', () => {
  it('a token revoked through the API stops at once', async () => {
    const t = await newReadToken();
    expect((await call('GET', clustersPath(), { token: t.token })).status).toBe(200);
    const del = await call('DELETE', `/api/orgs/${w.orgId}/tokens/${t.id}`, { as: w.members.viewer });
    expect(del.status).toBe(200);
    expect((await call('GET', clustersPath(), { token: t.token })).status).toBe(401);
  });

  it('a token revoked elsewhere (D1 written behind this isolate) stops within the TTL', async () => {
    const t = await newReadToken();
    expect((await call('GET', clustersPath(), { token: t.token })).status).toBe(200);
    await env.DB.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ?').bind(Date.now(), t.id).run();
    // Still served from the cache: this is what the cache saves, and the bound it costs.
    expect((await call('GET', clustersPath(), { token: t.token })).status).toBe(200);
    await new Promise((r) => setTimeout(r, AUTH_CACHE_TTL_MS + 200));
    expect((await call('GET', clustersPath(), { token: t.token })).status).toBe(401);
  }, 20_000);

  it('a member removed elsewhere loses access within the TTL', async () => {
    const t = await newReadToken();
    expect((await call('GET', clustersPath(), { token: t.token })).status).toBe(200);
    await env.DB.prepare('UPDATE memberships SET role = ? WHERE org_id = ? AND user_id = ?')
      .bind('gone', w.orgId, w.members.viewer.userId)
      .run();
    try {
      await new Promise((r) => setTimeout(r, AUTH_CACHE_TTL_MS + 200));
      expect((await call('GET', clustersPath(), { token: t.token })).status).toBe(403);
    } finally {
      await env.DB.prepare('UPDATE memberships SET role = ? WHERE org_id = ? AND user_id = ?')
        .bind('viewer', w.orgId, w.members.viewer.userId)
        .run();
    }
  }, 20_000);
});
