import { describe, expect, it } from 'vitest';
import { call, callJson, unique } from '../../test/client.ts';
import { addMember, signUp } from '../../test/fixtures.ts';

const slug = () => unique('o').toLowerCase().slice(0, 40);

describe('organizations', () => {
  it('creates an organization whose creator is owner, lists, reads and renames it', async () => {
    const owner = await signUp();
    const s = slug();
    const created = await callJson<{ id: string; role: string }>('POST', '/api/orgs', {
      as: owner,
      body: { name: 'Acme', slug: s },
    });
    expect(created.status).toBe(201);
    expect(created.body.role).toBe('owner');
    const list = await callJson<{ orgs: { id: string; role: string }[] }>('GET', '/api/orgs', { as: owner });
    expect(list.body.orgs).toEqual([
      expect.objectContaining({ id: created.body.id, slug: s, role: 'owner' }),
    ]);
    const read = await callJson('GET', `/api/orgs/${created.body.id}`, { as: owner });
    expect(read.body).toMatchObject({ name: 'Acme', slug: s });
    const renamed = await callJson('PATCH', `/api/orgs/${created.body.id}`, {
      as: owner,
      body: { name: 'Acme 2' },
    });
    expect(renamed.body).toMatchObject({ name: 'Acme 2' });
  });

  it('refuses a taken slug (409) and a bad slug (400)', async () => {
    const owner = await signUp();
    const s = slug();
    expect((await call('POST', '/api/orgs', { as: owner, body: { name: 'a', slug: s } })).status).toBe(201);
    expect((await call('POST', '/api/orgs', { as: owner, body: { name: 'b', slug: s } })).status).toBe(409);
    expect(
      (await call('POST', '/api/orgs', { as: owner, body: { name: 'b', slug: 'Bad Slug!' } })).status,
    ).toBe(400);
  });

  it('lets only the owner delete it, and deleting removes access at once', async () => {
    const owner = await signUp();
    const admin = await signUp();
    const org = await callJson<{ id: string }>('POST', '/api/orgs', {
      as: owner,
      body: { name: 'x', slug: slug() },
    });
    await addMember(org.body.id, admin.userId, 'admin');
    expect((await call('DELETE', `/api/orgs/${org.body.id}`, { as: admin })).status).toBe(403);
    expect((await call('DELETE', `/api/orgs/${org.body.id}`, { as: owner })).status).toBe(200);
    expect((await call('GET', `/api/orgs/${org.body.id}`, { as: owner })).status).toBe(404);
    expect((await call('GET', `/api/orgs/${org.body.id}`, { as: admin })).status).toBe(404);
  });
});
