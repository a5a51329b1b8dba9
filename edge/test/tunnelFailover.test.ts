/**
 * The tunnel when portals come and go: hello timeout, a query arriving while a portal is between connecting and
 * its hello, a replica taking over while queries are in flight. Inside workerd, the test playing the portals.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_CODES } from '../../lib/tunnel/index.ts';
import { TUNNEL_LIMITS } from '../src/tunnel/limits.ts';
import type { SocketState } from '../src/tunnel/portalSockets.ts';
import { call, callJson, unique } from './client.ts';
import { createOrgWorld, type OrgWorld } from './fixtures.ts';
import { newCluster, TestPortal, within } from './tunnelPortal.ts';

let a: OrgWorld;

beforeAll(async () => {
  a = await createOrgWorld();
}, 60_000);

const promQuery = (clusterId: string) =>
  `/api/orgs/${a.orgId}/clusters/${clusterId}/prometheus/api/v1/query?query=up`;
const stubOf = (clusterId: string) => env.CLUSTER_TUNNEL.get(env.CLUSTER_TUNNEL.idFromName(clusterId));

describe('hello timeout', () => {
  it('closes a socket that never says hello with 4408 (alarm), and keeps one that did', async () => {
    const cluster = await newCluster(a, unique('h').toLowerCase());
    const silent = await TestPortal.open(cluster.installToken);
    const polite = await TestPortal.connect(cluster.installToken, 'polite');
    const stub = stubOf(cluster.id);
    const alarm = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    // Not yet due: the alarm leaves it open and waits for it.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(silent.closed).toBe(false);
    // Make the silent socket look older than the hello timeout instead of waiting 10 s.
    await runInDurableObject(stub, (_instance, state) => {
      for (const ws of state.getWebSockets()) {
        const s = ws.deserializeAttachment() as SocketState;
        if (!s.replicaId) ws.serializeAttachment({ ...s, connectedAt: s.connectedAt - 60_000 });
      }
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await silent.until(() => silent.closed, 'close of the silent socket');
    expect(silent.closeCode).toBe(CLOSE_CODES.helloTimeout);
    expect(polite.closed).toBe(false);
    const pending = callJson('GET', promQuery(cluster.id), { as: a.members.viewer });
    const [req] = await polite.nextRequests(1);
    polite.answer(req!.id, '{"ok":true}');
    expect((await pending).status).toBe(200);
    polite.close();
  });
});

describe('portal replacement', () => {
  it('holds a query that arrives between a portal connecting and its hello, instead of 503', async () => {
    const cluster = await newCluster(a, unique('r').toLowerCase());
    const portal = await TestPortal.open(cluster.installToken);
    const pending = callJson('GET', promQuery(cluster.id), { as: a.members.viewer });
    await new Promise((r) => setTimeout(r, 200));
    await portal.hello('late');
    const [req] = await portal.nextRequests(1);
    portal.answer(req!.id, '{"held":true}');
    const res = await pending;
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ held: true });
    portal.close();
  });

  it('sends an unanswered query again to the replica that takes over when its socket goes away', async () => {
    const cluster = await newCluster(a, unique('r').toLowerCase());
    const old = await TestPortal.connect(cluster.installToken, 'pod-a');
    const pending = callJson('GET', promQuery(cluster.id), { as: a.members.viewer });
    const [lost] = await old.nextRequests(1);
    const next = await TestPortal.connect(cluster.installToken, 'pod-b');
    old.close(1001);
    const [again] = await next.nextRequests(1);
    expect(again).toMatchObject({ id: lost!.id, kind: 'prom', params: lost!.params });
    next.answer(again!.id, '{"from":"pod-b"}');
    expect((await pending).body).toEqual({ from: 'pod-b' });
    next.close();
  });

  it('a reconnecting replica (same id) takes over its in-flight queries: 4409 for the old socket, no 503', async () => {
    const cluster = await newCluster(a, unique('r').toLowerCase());
    const old = await TestPortal.connect(cluster.installToken, 'pod-a');
    const calls = Array.from({ length: 5 }, () =>
      callJson('GET', promQuery(cluster.id), { as: a.members.viewer }),
    );
    await old.nextRequests(5);
    const fresh = await TestPortal.connect(cluster.installToken, 'pod-a');
    await old.until(() => old.closed, 'close of the replaced socket');
    expect(old.closeCode).toBe(CLOSE_CODES.replaced);
    const moved = await fresh.nextRequests(5);
    for (const r of moved) fresh.answer(r.id, `{"id":"${r.id}"}`);
    const results = await Promise.all(calls);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    // Right after the replacement, new queries go to the new socket too.
    for (let i = 0; i < 10; i++) {
      const res = callJson('GET', promQuery(cluster.id), { as: a.members.viewer });
      const [req] = await fresh.nextRequests(1);
      fresh.answer(req!.id, `{"n":${i}}`);
      expect((await res).status).toBe(200);
    }
    fresh.close();
  });

  it('does not resend a query whose answer had started: the body fails, the other replica gets nothing', async () => {
    const cluster = await newCluster(a, unique('r').toLowerCase());
    const one = await TestPortal.connect(cluster.installToken, 'pod-a');
    const pending = call('GET', promQuery(cluster.id), { as: a.members.viewer });
    const [req] = await one.nextRequests(1);
    const two = await TestPortal.connect(cluster.installToken, 'pod-b');
    one.ws.send(JSON.stringify({ type: 'head', id: req!.id, status: 200, contentType: 'application/json' }));
    const res = await pending;
    expect(res.status).toBe(200);
    one.close(1001);
    await expect(res.text()).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 200));
    expect(two.requests).toHaveLength(0);
    two.close();
  });

  it('deleting a cluster closes its portal at once (4401), even one that has not said hello', async () => {
    const cluster = await newCluster(a, unique('d').toLowerCase());
    const ready = await TestPortal.connect(cluster.installToken, 'pod-a');
    const fresh = await TestPortal.open(cluster.installToken);
    const del = await call('DELETE', `/api/orgs/${a.orgId}/clusters/${cluster.id}`, { as: a.members.owner });
    expect(del.status).toBe(200);
    await ready.until(() => ready.closed && fresh.closed, 'both sockets closed');
    expect([ready.closeCode, fresh.closeCode]).toEqual([CLOSE_CODES.unauthorized, CLOSE_CODES.unauthorized]);
    expect((await callJson('GET', promQuery(cluster.id), { as: a.members.viewer })).status).toBe(404);
  });
});

describe('heartbeat', () => {
  it('fails queries on a portal that vanished without a close frame with 503 soon, not at the deadline; a slow live portal keeps its query', async () => {
    const { deadAfterMs } = TUNNEL_LIMITS.heartbeat;
    const [lost, slow] = await Promise.all([
      newCluster(a, unique('hb').toLowerCase()),
      newCluster(a, unique('hb').toLowerCase()),
    ]);
    const gone = await TestPortal.connect(lost.installToken, 'pod-gone');
    const live = await TestPortal.connect(slow.installToken, 'pod-slow');
    const lostQuery = callJson('GET', promQuery(lost.id), { as: a.members.viewer });
    const slowQuery = callJson('GET', promQuery(slow.id), { as: a.members.viewer });
    await gone.nextRequests(1);
    gone.vanish();
    const [slowReq] = await live.nextRequests(1);
    // Well under the 32 s deadline (the 30 s test limit would fail first): the heartbeat's bound plus slack.
    const res = await within(lostQuery, deadAfterMs + 8_000, 'the 503 for the vanished portal');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 'error', errorType: 'unavailable' });
    expect(JSON.stringify(res.body)).toContain('sent nothing');
    await gone.until(() => gone.closed, 'the silent socket closed');
    expect(gone.closeCode).toBe(CLOSE_CODES.unresponsive);
    // The live portal was probed while its query ran (it answered the pings) and is still serving.
    expect(live.pings).toBeGreaterThan(0);
    expect(live.closed).toBe(false);
    live.answer(slowReq!.id, '{"late":true}');
    const late = await slowQuery;
    expect(late.status).toBe(200);
    expect(late.body).toEqual({ late: true });
    live.close();
  }, 60_000); // the heartbeat's 12 s bound plus a loaded machine's slack, over the 30 s default
});
