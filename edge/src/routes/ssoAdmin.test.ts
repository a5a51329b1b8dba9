import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, callJson, unique } from '../../test/client.ts';
import { signUp } from '../../test/fixtures.ts';

async function org() {
  const owner = await signUp();
  const res = await callJson<{ id: string }>('POST', '/api/orgs', {
    as: owner,
    body: { name: 's', slug: unique('s').toLowerCase().slice(0, 40) },
  });
  return { orgId: res.body.id, owner };
}

type Settings = {
  config: { issuer: string; hasClientSecret: boolean; defaultRole: string } | null;
  domains: { domain: string; verified: boolean; record: { name: string; value: string } }[];
};

describe('SSO settings', () => {
  it('stores the provider without ever returning the client secret', async () => {
    const o = await org();
    const empty = await callJson<Settings>('GET', `/api/orgs/${o.orgId}/sso`, { as: o.owner });
    expect(empty.body).toEqual({ config: null, domains: [] });
    const put = await callJson<Settings>('PUT', `/api/orgs/${o.orgId}/sso`, {
      as: o.owner,
      body: {
        issuer: 'https://idp.example.org',
        clientId: 'cid',
        clientSecret: 'very-secret',
        enabled: false,
      },
    });
    expect(put.status).toBe(200);
    expect(put.body.config).toMatchObject({
      issuer: 'https://idp.example.org',
      hasClientSecret: true,
      defaultRole: 'viewer',
    });
    expect(JSON.stringify(put.body)).not.toContain('very-secret');
    // A form that cannot resend the secret keeps it by leaving it out; null removes it.
    const kept = await callJson<Settings>('PUT', `/api/orgs/${o.orgId}/sso`, {
      as: o.owner,
      body: { issuer: 'https://idp.example.org', clientId: 'cid', enabled: true },
    });
    expect(kept.body.config).toMatchObject({ hasClientSecret: true });
    const cleared = await callJson<Settings>('PUT', `/api/orgs/${o.orgId}/sso`, {
      as: o.owner,
      body: { issuer: 'https://idp.example.org', clientId: 'cid', clientSecret: null, enabled: true },
    });
    expect(cleared.body.config).toMatchObject({ hasClientSecret: false });
    const owner = await call('PUT', `/api/orgs/${o.orgId}/sso`, {
      as: o.owner,
      body: { issuer: 'https://idp.example.org', clientId: 'cid', enabled: true, defaultRole: 'owner' },
    });
    expect(owner.status).toBe(400);
    const notUrl = await call('PUT', `/api/orgs/${o.orgId}/sso`, {
      as: o.owner,
      body: { issuer: 'idp', clientId: 'c', enabled: true },
    });
    expect(notUrl.status).toBe(400);
  });

  it('claims, lists and releases a domain; a domain verified by one org cannot be verified by another', async () => {
    const a = await org();
    const b = await org();
    const domain = `${unique('x').toLowerCase()}.example.net`;
    expect(
      (await call('POST', `/api/orgs/${a.orgId}/sso/domains`, { as: a.owner, body: { domain } })).status,
    ).toBe(201);
    expect(
      (await call('POST', `/api/orgs/${a.orgId}/sso/domains`, { as: a.owner, body: { domain } })).status,
    ).toBe(409);
    expect(
      (
        await call('POST', `/api/orgs/${a.orgId}/sso/domains`, {
          as: a.owner,
          body: { domain: 'not a domain' },
        })
      ).status,
    ).toBe(400);
    expect(
      (await call('POST', `/api/orgs/${b.orgId}/sso/domains`, { as: b.owner, body: { domain } })).status,
    ).toBe(201);
    await env.DB.prepare('UPDATE sso_domains SET verified_at = 1 WHERE org_id = ? AND domain = ?')
      .bind(a.orgId, domain)
      .run();
    const conflict = await call('POST', `/api/orgs/${b.orgId}/sso/domains/${domain}/verify`, { as: b.owner });
    expect(conflict.status).toBe(409);
    const listed = await callJson<Settings>('GET', `/api/orgs/${a.orgId}/sso`, { as: a.owner });
    expect(listed.body.domains).toEqual([
      expect.objectContaining({
        domain,
        verified: true,
        record: expect.objectContaining({ name: `_understory-challenge.${domain}` }),
      }),
    ]);
    expect((await call('DELETE', `/api/orgs/${a.orgId}/sso/domains/${domain}`, { as: a.owner })).status).toBe(
      200,
    );
    expect((await call('DELETE', `/api/orgs/${a.orgId}/sso/domains/${domain}`, { as: a.owner })).status).toBe(
      404,
    );
  });
});
