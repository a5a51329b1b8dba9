import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, callJson } from '../../test/client.ts';
import { createOrgWorld, type OrgWorld } from '../../test/fixtures.ts';
import { authCache } from '../auth/authCache.ts';
import { sha256Hex } from '../crypto/secrets.ts';

type Created = {
  id: string;
  token: string;
  displayPrefix: string;
  scopes: string[];
  expiresAt: number | null;
};
let w: OrgWorld;
beforeAll(async () => {
  w = await createOrgWorld();
}, 60_000);

/**
 * These tests change D1 directly, as another isolate would. Such a change reaches this isolate within
 * AUTH_CACHE_TTL_MS (test/authCache.test.ts proves that bound); here the cache is emptied instead of waiting.
 */
function changedBehindTheIsolate(): void {
  authCache.clear();
}

describe('personal API tokens', () => {
  it('creates a token shown once, with a recognisable prefix, stored hashed', async () => {
    const res = await callJson<Created>('POST', `/api/orgs/${w.orgId}/tokens`, {
      as: w.members.editor,
      body: { name: 'ci', scopes: ['read', 'write'], expiresInDays: 30 },
    });
    expect(res.status).toBe(201);
    expect(res.body.token).toMatch(/^ust_pat_[A-Za-z0-9_-]{43}$/);
    expect(res.body.token.startsWith(res.body.displayPrefix)).toBe(true);
    expect(res.body.expiresAt).toBeGreaterThan(Date.now());
    const row = await env.DB.prepare('SELECT token_hash FROM api_tokens WHERE id = ?')
      .bind(res.body.id)
      .first();
    expect(row?.token_hash).toBe(await sha256Hex(res.body.token));
    const list = await callJson('GET', `/api/orgs/${w.orgId}/tokens`, { as: w.members.editor });
    expect(JSON.stringify(list.body)).not.toContain(res.body.token);
    expect(JSON.stringify(list.body)).toContain(res.body.id);
  });

  it('caps scopes by role: a viewer cannot mint write or admin tokens', async () => {
    const res = await callJson('POST', `/api/orgs/${w.orgId}/tokens`, {
      as: w.members.viewer,
      body: { name: 'x', scopes: ['write'] },
    });
    expect(res.status).toBe(403);
    const bad = await call('POST', `/api/orgs/${w.orgId}/tokens`, {
      as: w.members.viewer,
      body: { name: 'x', scopes: ['root'] },
    });
    expect(bad.status).toBe(400);
  });

  it('acts as its owner within its scope, updates last-used, and stops at once when revoked', async () => {
    const created = await callJson<Created>('POST', `/api/orgs/${w.orgId}/tokens`, {
      as: w.members.editor,
      body: { name: 'rw', scopes: ['write'] },
    });
    const t = created.body.token;
    const reg = await call('POST', `/api/orgs/${w.orgId}/clusters`, {
      token: t,
      body: { name: 'from-token' },
    });
    expect(reg.status).toBe(201);
    expect((await call('GET', `/api/orgs/${w.orgId}/audit`, { token: t })).status).toBe(403);
    expect(
      (await call('POST', `/api/orgs/${w.orgId}/tokens`, { token: t, body: { name: 'y', scopes: ['read'] } }))
        .status,
    ).toBe(403);
    const used = await env.DB.prepare('SELECT last_used_at FROM api_tokens WHERE id = ?')
      .bind(created.body.id)
      .first();
    expect(Number(used?.last_used_at)).toBeGreaterThan(0);
    expect(
      (await call('DELETE', `/api/orgs/${w.orgId}/tokens/${created.body.id}`, { as: w.members.editor }))
        .status,
    ).toBe(200);
    expect((await call('GET', `/api/orgs/${w.orgId}/clusters`, { token: t })).status).toBe(401);
  });

  it('stops working at once when expired, or when its owner loses the role', async () => {
    const created = await callJson<Created>('POST', `/api/orgs/${w.orgId}/tokens`, {
      as: w.members.admin,
      body: { name: 'a', scopes: ['admin'] },
    });
    const t = created.body.token;
    expect((await call('GET', `/api/orgs/${w.orgId}/audit`, { token: t })).status).toBe(200);
    await env.DB.prepare("UPDATE memberships SET role = 'viewer' WHERE org_id = ? AND user_id = ?")
      .bind(w.orgId, w.members.admin.userId)
      .run();
    changedBehindTheIsolate();
    expect((await call('GET', `/api/orgs/${w.orgId}/audit`, { token: t })).status).toBe(403);
    expect((await call('GET', `/api/orgs/${w.orgId}/clusters`, { token: t })).status).toBe(200);
    await env.DB.prepare("UPDATE memberships SET role = 'admin' WHERE org_id = ? AND user_id = ?")
      .bind(w.orgId, w.members.admin.userId)
      .run();
    await env.DB.prepare('UPDATE api_tokens SET expires_at = ? WHERE id = ?')
      .bind(Date.now() - 1, created.body.id)
      .run();
    changedBehindTheIsolate();
    expect((await call('GET', `/api/orgs/${w.orgId}/clusters`, { token: t })).status).toBe(401);
  });

  it("lets members revoke only their own tokens; admins may revoke anyone's", async () => {
    const other = await call('DELETE', `/api/orgs/${w.orgId}/tokens/${w.viewerTokenId}`, {
      as: w.members.editor,
    });
    expect(other.status).toBe(404);
    const admin = await call('DELETE', `/api/orgs/${w.orgId}/tokens/${w.viewerTokenId}`, {
      as: w.members.admin,
    });
    expect(admin.status).toBe(200);
  });
});

describe('service accounts', () => {
  it('issues scoped tokens; ingest grants no API access; deleting the account kills its tokens', async () => {
    const sa = await callJson<{ id: string }>('POST', `/api/orgs/${w.orgId}/service-accounts`, {
      as: w.members.admin,
      body: { name: 'grafana' },
    });
    expect(sa.status).toBe(201);
    const dup = await call('POST', `/api/orgs/${w.orgId}/service-accounts`, {
      as: w.members.admin,
      body: { name: 'grafana' },
    });
    expect(dup.status).toBe(409);
    const tokens = `/api/orgs/${w.orgId}/service-accounts/${sa.body.id}/tokens`;
    const read = await callJson<Created>('POST', tokens, {
      as: w.members.admin,
      body: { name: 'r', scopes: ['read'] },
    });
    expect(read.body.token).toMatch(/^ust_sat_/);
    expect((await call('GET', `/api/orgs/${w.orgId}/clusters`, { token: read.body.token })).status).toBe(200);
    expect(
      (await call('POST', `/api/orgs/${w.orgId}/clusters`, { token: read.body.token, body: { name: 'n' } }))
        .status,
    ).toBe(403);
    expect(
      (await call('GET', `/api/orgs/${w.orgId}/clusters`, { token: w.serviceTokens.ingest.token })).status,
    ).toBe(403);
    const listed = await callJson<{ tokens: { id: string }[] }>('GET', tokens, { as: w.members.admin });
    expect(listed.body.tokens.map((t) => t.id)).toEqual([read.body.id]);
    const list = await callJson<{ serviceAccounts: { id: string }[] }>(
      'GET',
      `/api/orgs/${w.orgId}/service-accounts`,
      {
        as: w.members.admin,
      },
    );
    expect(list.body.serviceAccounts.map((s) => s.id)).toContain(sa.body.id);
    expect(
      (await call('DELETE', `/api/orgs/${w.orgId}/service-accounts/${sa.body.id}`, { as: w.members.admin }))
        .status,
    ).toBe(200);
    expect((await call('GET', `/api/orgs/${w.orgId}/clusters`, { token: read.body.token })).status).toBe(401);
  });

  it('revokes one service token at once', async () => {
    const t = w.serviceTokens.write;
    expect((await call('GET', `/api/orgs/${w.orgId}/clusters`, { token: t.token })).status).toBe(200);
    const path = `/api/orgs/${w.orgId}/service-accounts/${w.serviceAccountId}/tokens/${t.id}`;
    expect((await call('DELETE', path, { as: w.members.admin })).status).toBe(200);
    expect((await call('GET', `/api/orgs/${w.orgId}/clusters`, { token: t.token })).status).toBe(401);
  });
});
