import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, callJson, unique } from '../../test/client.ts';
import { signUp } from '../../test/fixtures.ts';
import { sha256Hex } from '../crypto/secrets.ts';

async function orgWithInvite(role = 'editor') {
  const owner = await signUp();
  const invitee = await signUp();
  const org = await callJson<{ id: string }>('POST', '/api/orgs', {
    as: owner,
    body: { name: 'i', slug: unique('i').toLowerCase().slice(0, 40) },
  });
  const inv = await callJson<{ id: string; token: string; role: string }>(
    'POST',
    `/api/orgs/${org.body.id}/invitations`,
    {
      as: owner,
      body: { email: invitee.email.toUpperCase(), role },
    },
  );
  expect(inv.status).toBe(201);
  return { orgId: org.body.id, owner, invitee, inv: inv.body };
}

describe('invitations', () => {
  it('invites an email with a role; the token is shown once and stored hashed', async () => {
    const { orgId, owner, inv } = await orgWithInvite();
    expect(inv.token.startsWith('ust_inv_')).toBe(true);
    const row = await env.DB.prepare('SELECT token_hash FROM invitations WHERE id = ?').bind(inv.id).first();
    expect(row?.token_hash).toBe(await sha256Hex(inv.token));
    const list = await callJson<{ invitations: Record<string, unknown>[] }>(
      'GET',
      `/api/orgs/${orgId}/invitations`,
      {
        as: owner,
      },
    );
    expect(list.body.invitations).toHaveLength(1);
    expect(JSON.stringify(list.body)).not.toContain(inv.token);
  });

  it('lets the invited user (only) accept once, with the invited role', async () => {
    const { orgId, inv, invitee } = await orgWithInvite('editor');
    const stranger = await signUp();
    const wrongUser = await call('POST', '/api/invitations/accept', {
      as: stranger,
      body: { token: inv.token },
    });
    expect(wrongUser.status).toBe(404);
    const ok = await callJson('POST', '/api/invitations/accept', { as: invitee, body: { token: inv.token } });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ orgId, role: 'editor' });
    expect(
      (await call('POST', '/api/invitations/accept', { as: invitee, body: { token: inv.token } })).status,
    ).toBe(404);
    expect((await call('GET', `/api/orgs/${orgId}/clusters`, { as: invitee })).status).toBe(200);
  });

  it('refuses expired and withdrawn invitations', async () => {
    const a = await orgWithInvite();
    await env.DB.prepare('UPDATE invitations SET expires_at = ? WHERE id = ?')
      .bind(Date.now() - 1, a.inv.id)
      .run();
    expect(
      (await call('POST', '/api/invitations/accept', { as: a.invitee, body: { token: a.inv.token } })).status,
    ).toBe(404);
    const b = await orgWithInvite();
    expect(
      (await call('DELETE', `/api/orgs/${b.orgId}/invitations/${b.inv.id}`, { as: b.owner })).status,
    ).toBe(200);
    expect(
      (await call('POST', '/api/invitations/accept', { as: b.invitee, body: { token: b.inv.token } })).status,
    ).toBe(404);
    expect(
      (await call('DELETE', `/api/orgs/${b.orgId}/invitations/${b.inv.id}`, { as: b.owner })).status,
    ).toBe(404);
  });

  it('lets only owners invite owners', async () => {
    const { orgId, owner } = await orgWithInvite();
    const admin = await signUp();
    const invAdmin = await callJson<{ token: string }>('POST', `/api/orgs/${orgId}/invitations`, {
      as: owner,
      body: { email: admin.email, role: 'admin' },
    });
    await call('POST', '/api/invitations/accept', { as: admin, body: { token: invAdmin.body.token } });
    const res = await call('POST', `/api/orgs/${orgId}/invitations`, {
      as: admin,
      body: { email: 'x@example.com', role: 'owner' },
    });
    expect(res.status).toBe(403);
  });
});
