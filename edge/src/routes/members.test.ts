import { describe, expect, it } from 'vitest';
import { call, callJson, unique } from '../../test/client.ts';
import { addMember, signUp } from '../../test/fixtures.ts';

async function org() {
  const owner = await signUp();
  const admin = await signUp();
  const viewer = await signUp();
  const res = await callJson<{ id: string }>('POST', '/api/orgs', {
    as: owner,
    body: { name: 'm', slug: unique('m').toLowerCase().slice(0, 40) },
  });
  await addMember(res.body.id, admin.userId, 'admin');
  await addMember(res.body.id, viewer.userId, 'viewer');
  return { orgId: res.body.id, owner, admin, viewer };
}

describe('members', () => {
  it('lists members with roles for any member', async () => {
    const o = await org();
    const res = await callJson<{ members: { userId: string; role: string }[] }>(
      'GET',
      `/api/orgs/${o.orgId}/members`,
      {
        as: o.viewer,
      },
    );
    expect(res.status).toBe(200);
    expect(res.body.members.map((m) => m.role).sort()).toEqual(['admin', 'owner', 'viewer']);
  });

  it('lets an admin change roles below owner, and the change applies at once', async () => {
    const o = await org();
    const path = `/api/orgs/${o.orgId}/members/${o.viewer.userId}`;
    expect(
      (await call('POST', `/api/orgs/${o.orgId}/clusters`, { as: o.viewer, body: { name: 'c1' } })).status,
    ).toBe(403);
    expect((await call('PATCH', path, { as: o.admin, body: { role: 'editor' } })).status).toBe(200);
    expect(
      (await call('POST', `/api/orgs/${o.orgId}/clusters`, { as: o.viewer, body: { name: 'c1' } })).status,
    ).toBe(201);
    expect((await call('PATCH', path, { as: o.admin, body: { role: 'boss' } })).status).toBe(400);
  });

  it('keeps the owner role for owners to grant and change', async () => {
    const o = await org();
    const toOwner = await call('PATCH', `/api/orgs/${o.orgId}/members/${o.viewer.userId}`, {
      as: o.admin,
      body: { role: 'owner' },
    });
    expect(toOwner.status).toBe(403);
    const demoteOwner = await call('PATCH', `/api/orgs/${o.orgId}/members/${o.owner.userId}`, {
      as: o.admin,
      body: { role: 'viewer' },
    });
    expect(demoteOwner.status).toBe(403);
    // The last owner cannot step down or leave.
    const last = await call('PATCH', `/api/orgs/${o.orgId}/members/${o.owner.userId}`, {
      as: o.owner,
      body: { role: 'admin' },
    });
    expect(last.status).toBe(409);
    expect(
      (await call('DELETE', `/api/orgs/${o.orgId}/members/${o.owner.userId}`, { as: o.owner })).status,
    ).toBe(409);
  });

  it('removes a member, whose access ends at once; unknown members are 404', async () => {
    const o = await org();
    expect((await call('GET', `/api/orgs/${o.orgId}`, { as: o.viewer })).status).toBe(200);
    expect(
      (await call('DELETE', `/api/orgs/${o.orgId}/members/${o.viewer.userId}`, { as: o.admin })).status,
    ).toBe(200);
    expect((await call('GET', `/api/orgs/${o.orgId}`, { as: o.viewer })).status).toBe(404);
    expect((await call('DELETE', `/api/orgs/${o.orgId}/members/usr_nobody`, { as: o.admin })).status).toBe(
      404,
    );
  });
});
