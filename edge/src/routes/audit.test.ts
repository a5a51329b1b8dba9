import { describe, expect, it } from 'vitest';
import { call, callJson } from '../../test/client.ts';
import { createOrgWorld } from '../../test/fixtures.ts';

type Entry = {
  id: number;
  actor: string;
  action: string;
  targetId: string | null;
  ip: string | null;
  userAgent: string | null;
  createdAt: number;
  outcome: string;
  details: Record<string, unknown>;
};

describe('audit log', () => {
  it('records who did what, when and from where, newest first, paged', async () => {
    const w = await createOrgWorld();
    const before = Date.now();
    const res = await call('POST', `/api/orgs/${w.orgId}/clusters`, {
      as: w.members.editor,
      body: { name: 'audited' },
      headers: { 'cf-connecting-ip': '198.51.100.7', 'user-agent': 'audit-test' },
    });
    const cluster = (await res.json()) as { id: string };
    const log = await callJson<{ entries: Entry[] }>('GET', `/api/orgs/${w.orgId}/audit?limit=3`, {
      as: w.members.admin,
    });
    expect(log.status).toBe(200);
    expect(log.body.entries).toHaveLength(3);
    expect(log.body.entries[0]).toMatchObject({
      actor: `user:${w.members.editor.userId}`,
      action: 'cluster.register',
      targetId: cluster.id,
      ip: '198.51.100.7',
      userAgent: 'audit-test',
      outcome: 'success',
    });
    expect(log.body.entries[0]!.createdAt).toBeGreaterThanOrEqual(before);
    const older = await callJson<{ entries: Entry[] }>(
      'GET',
      `/api/orgs/${w.orgId}/audit?limit=500&before=${log.body.entries[2]!.id}`,
      { as: w.members.admin },
    );
    const actions = [...log.body.entries, ...older.body.entries].map((e) => e.action);
    for (const a of [
      'org.create',
      'service_account.create',
      'token.create',
      'invitation.create',
      'sso.domain_add',
    ]) {
      expect(actions).toContain(a);
    }
    expect(older.body.entries.every((e) => e.id < log.body.entries[2]!.id)).toBe(true);
    expect((await call('GET', `/api/orgs/${w.orgId}/audit?limit=0`, { as: w.members.admin })).status).toBe(
      400,
    );
  });

  it('filters by action or area, actor and outcome', async () => {
    const w = await createOrgWorld();
    await call('POST', `/api/orgs/${w.orgId}/clusters`, { as: w.members.editor, body: { name: 'filtered' } });
    const get = async (query: string) =>
      (
        await callJson<{ entries: Entry[] }>('GET', `/api/orgs/${w.orgId}/audit?limit=500&${query}`, {
          as: w.members.admin,
        })
      ).body.entries;
    const tokenArea = await get('action=token');
    expect(tokenArea.length).toBeGreaterThan(0);
    expect(tokenArea.every((e) => e.action.startsWith('token.'))).toBe(true);
    const exact = await get('action=cluster.register');
    // The world registered one cluster, the editor another.
    expect(exact.map((e) => e.action)).toEqual(['cluster.register', 'cluster.register']);
    const editor = `user:${w.members.editor.userId}`;
    const byEditor = await get(`actor=${encodeURIComponent(editor)}`);
    expect(byEditor.length).toBeGreaterThan(0);
    expect(byEditor.every((e) => e.actor === editor)).toBe(true);
    expect(await get('outcome=failure')).toEqual([]);
    // Names travel with token and service-account entries, so the log reads well after a deletion.
    const named = await get('action=service_account.create');
    expect(named.length).toBeGreaterThan(0);
    expect(named.every((e) => typeof e.details.name === 'string')).toBe(true);
    expect(tokenArea.every((e) => typeof e.details.name === 'string')).toBe(true);
    expect(await get('action=cluster&outcome=success')).toHaveLength(2);
    const bad = await call('GET', `/api/orgs/${w.orgId}/audit?action=${encodeURIComponent('%')}`, {
      as: w.members.admin,
    });
    expect(bad.status).toBe(400);
  });

  it('records token actions under the token', async () => {
    const w = await createOrgWorld();
    await call('POST', `/api/orgs/${w.orgId}/clusters`, {
      token: w.serviceTokens.write.token,
      body: { name: 'by-token' },
    });
    const log = await callJson<{ entries: Entry[] }>('GET', `/api/orgs/${w.orgId}/audit?limit=1`, {
      as: w.members.owner,
    });
    expect(log.body.entries[0]).toMatchObject({
      actor: `token:${w.serviceTokens.write.id}`,
      action: 'cluster.register',
    });
  });
});
