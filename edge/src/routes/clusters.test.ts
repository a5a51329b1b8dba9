import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, callJson } from '../../test/client.ts';
import { createOrgWorld, type OrgWorld } from '../../test/fixtures.ts';
import { recordClusterConnection } from '../clusters/connectionStatus.ts';
import { authenticateClusterInstallToken } from '../clusters/installToken.ts';
import { sha256Hex } from '../crypto/secrets.ts';

type WithToken = {
  id: string;
  name: string;
  status: string;
  installToken: string;
  commands: { helm: string; local: string };
};
let w: OrgWorld;
beforeAll(async () => {
  w = await createOrgWorld();
}, 60_000);

describe('clusters', () => {
  it('registers a cluster with a hashed install token and the exact connect commands', async () => {
    const res = await callJson<WithToken>('POST', `/api/orgs/${w.orgId}/clusters`, {
      as: w.members.editor,
      body: { name: 'prod-eu' },
    });
    expect(res.status).toBe(201);
    const { installToken, commands } = res.body;
    expect(installToken).toMatch(/^ust_cit_/);
    expect(res.body.status).toBe('pending');
    expect(commands.helm).toBe(
      'helm upgrade --install understory ./infra/helm/understory --namespace understory --create-namespace ' +
        `--set portal.edgeUrl=https://edge.test --set portal.installToken=${installToken} --set clusterName=prod-eu`,
    );
    expect(commands.local).toBe(`understory up --edge-url https://edge.test --install-token ${installToken}`);
    const row = await env.DB.prepare('SELECT install_token_hash FROM clusters WHERE id = ?')
      .bind(res.body.id)
      .first();
    expect(row?.install_token_hash).toBe(await sha256Hex(installToken));
    expect(await authenticateClusterInstallToken(env.DB, installToken)).toEqual({
      clusterId: res.body.id,
      orgId: w.orgId,
      name: 'prod-eu',
    });
    expect(
      (
        await call('POST', `/api/orgs/${w.orgId}/clusters`, {
          as: w.members.editor,
          body: { name: 'prod-eu' },
        })
      ).status,
    ).toBe(409);
    expect(
      (
        await call('POST', `/api/orgs/${w.orgId}/clusters`, {
          as: w.members.editor,
          body: { name: 'Prod EU' },
        })
      ).status,
    ).toBe(400);
  });

  it('lists and reads clusters with the status and last-seen the tunnel records, never the token', async () => {
    expect(await recordClusterConnection(env.DB, w.clusterId, 'connected', 1234)).toBe(true);
    expect(await recordClusterConnection(env.DB, 'clu_missing', 'connected')).toBe(false);
    const list = await callJson<{ clusters: { id: string }[] }>('GET', `/api/orgs/${w.orgId}/clusters`, {
      as: w.members.viewer,
    });
    expect(list.body.clusters.map((c) => c.id)).toContain(w.clusterId);
    const one = await callJson('GET', `/api/orgs/${w.orgId}/clusters/${w.clusterId}`, {
      as: w.members.viewer,
    });
    expect(one.body).toMatchObject({ id: w.clusterId, status: 'connected', lastSeenAt: 1234 });
    expect(JSON.stringify(list.body) + JSON.stringify(one.body)).not.toContain(w.installToken);
    expect(
      (await call('GET', `/api/orgs/${w.orgId}/clusters/clu_missing`, { as: w.members.viewer })).status,
    ).toBe(404);
  });

  it('rotates the install token: the old one stops working at once', async () => {
    const res = await callJson<WithToken>(
      'POST',
      `/api/orgs/${w.orgId}/clusters/${w.clusterId}/install-token`,
      {
        as: w.members.editor,
      },
    );
    expect(res.status).toBe(200);
    expect(res.body.installToken).not.toBe(w.installToken);
    expect(await authenticateClusterInstallToken(env.DB, w.installToken)).toBeNull();
    expect(await authenticateClusterInstallToken(env.DB, res.body.installToken)).toMatchObject({
      clusterId: w.clusterId,
    });
    expect(res.body.commands.helm).toContain(res.body.installToken);
  });

  it('deletes a cluster (admin); its token no longer authenticates', async () => {
    const c = await callJson<WithToken>('POST', `/api/orgs/${w.orgId}/clusters`, {
      as: w.members.editor,
      body: { name: 'tmp' },
    });
    expect(
      (await call('DELETE', `/api/orgs/${w.orgId}/clusters/${c.body.id}`, { as: w.members.admin })).status,
    ).toBe(200);
    expect(await authenticateClusterInstallToken(env.DB, c.body.installToken)).toBeNull();
    expect(
      (await call('DELETE', `/api/orgs/${w.orgId}/clusters/${c.body.id}`, { as: w.members.admin })).status,
    ).toBe(404);
  });

  it('rejects malformed install tokens without a lookup', async () => {
    expect(await authenticateClusterInstallToken(env.DB, 'ust_pat_x')).toBeNull();
    expect(await authenticateClusterInstallToken(env.DB, `ust_cit_${'a'.repeat(200)}`)).toBeNull();
  });
});
