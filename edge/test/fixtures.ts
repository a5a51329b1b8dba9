/**
 * Test worlds built through the API (sign-up, org creation, clusters, tokens); memberships of the extra roles
 * are inserted directly into D1 to keep the suite fast (the invitation flow has its own test).
 */
import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import type { Role } from '../src/permissions.ts';
import { type Browser, call, callJson, cookieFrom, unique } from './client.ts';

export const PASSWORD = 'a long enough password';

export async function signUp(email = `${unique('user')}@example.com`): Promise<Browser> {
  const res = await call('POST', '/api/auth/signup', {
    body: { email, password: PASSWORD, name: 'Test User' },
  });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { user: { id: string }; csrfToken: string };
  const cookie = cookieFrom(res, '__Host-understory_session');
  expect(cookie).not.toBeNull();
  return { cookie: cookie!, csrf: body.csrfToken, userId: body.user.id, email };
}

export async function addMember(orgId: string, userId: string, role: Role): Promise<void> {
  await env.DB.prepare('INSERT INTO memberships (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)')
    .bind(orgId, userId, role, Date.now())
    .run();
}

export type OrgWorld = {
  orgId: string;
  slug: string;
  members: Record<Role, Browser>;
  clusterId: string;
  clusterName: string;
  installToken: string;
  serviceAccountId: string;
  /** Service-account tokens by scope. */
  serviceTokens: Record<'read' | 'write' | 'admin' | 'ingest', { id: string; token: string }>;
  /** A personal read token of the viewer. */
  viewerTokenId: string;
  invitationId: string;
  domain: string;
};

export async function createOrgWorld(): Promise<OrgWorld> {
  const owner = await signUp();
  const slug = unique('org').toLowerCase().slice(0, 40);
  const org = await callJson<{ id: string }>('POST', '/api/orgs', { as: owner, body: { name: 'Org', slug } });
  expect(org.status).toBe(201);
  const orgId = org.body.id;
  const members = { owner } as Record<Role, Browser>;
  for (const role of ['admin', 'editor', 'viewer'] as const) {
    members[role] = await signUp();
    await addMember(orgId, members[role].userId, role);
  }
  const clusterName = unique('c').toLowerCase().slice(0, 40);
  const cluster = await callJson<{ id: string; installToken: string }>(
    'POST',
    `/api/orgs/${orgId}/clusters`,
    {
      as: owner,
      body: { name: clusterName },
    },
  );
  expect(cluster.status).toBe(201);
  const sa = await callJson<{ id: string }>('POST', `/api/orgs/${orgId}/service-accounts`, {
    as: owner,
    body: { name: 'robot' },
  });
  expect(sa.status).toBe(201);
  const serviceTokens = {} as OrgWorld['serviceTokens'];
  for (const scope of ['read', 'write', 'admin', 'ingest'] as const) {
    const t = await callJson<{ id: string; token: string }>(
      'POST',
      `/api/orgs/${orgId}/service-accounts/${sa.body.id}/tokens`,
      { as: owner, body: { name: scope, scopes: [scope] } },
    );
    expect(t.status).toBe(201);
    serviceTokens[scope] = { id: t.body.id, token: t.body.token };
  }
  const pat = await callJson<{ id: string }>('POST', `/api/orgs/${orgId}/tokens`, {
    as: members.viewer,
    body: { name: 'mine', scopes: ['read'] },
  });
  expect(pat.status).toBe(201);
  const inv = await callJson<{ id: string }>('POST', `/api/orgs/${orgId}/invitations`, {
    as: owner,
    body: { email: `${unique('invitee')}@example.com`, role: 'viewer' },
  });
  expect(inv.status).toBe(201);
  const domain = `${unique('d').toLowerCase()}.example.com`;
  const dom = await call('POST', `/api/orgs/${orgId}/sso/domains`, { as: owner, body: { domain } });
  expect(dom.status).toBe(201);
  return {
    orgId,
    slug,
    members,
    clusterId: cluster.body.id,
    clusterName,
    installToken: cluster.body.installToken,
    serviceAccountId: sa.body.id,
    serviceTokens,
    viewerTokenId: pat.body.id,
    invitationId: inv.body.id,
    domain,
  };
}
