/**
 * The cluster tunnel inside workerd: the real worker and ClusterTunnel Durable Object, a portal played by the test
 * over a real WebSocket (tunnelPortal.ts), D1 with the project's migrations.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_CODES, encodeChunk, encodeControl } from '../../lib/tunnel/index.ts';
import { call, callJson, unique } from './client.ts';
import { createOrgWorld, type OrgWorld } from './fixtures.ts';
import { connectTunnel, newCluster, TestPortal, within } from './tunnelPortal.ts';

let a: OrgWorld;
let b: OrgWorld;

beforeAll(async () => {
  [a, b] = await Promise.all([createOrgWorld(), createOrgWorld()]);
}, 60_000);

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

const promQuery = (clusterId: string, expr = 'up', world = a) =>
  `/api/orgs/${world.orgId}/clusters/${clusterId}/prometheus/api/v1/query?query=${encodeURIComponent(expr)}`;

describe('tunnel connect', () => {
  it('refuses a missing, unknown or rotated install token before the upgrade', async () => {
    const cluster = await newCluster(a, unique('t').toLowerCase());
    expect((await connectTunnel(null)).status).toBe(401);
    expect((await connectTunnel('ust_cit_nothing')).status).toBe(401);
    expect((await connectTunnel(a.serviceTokens.admin.token)).status).toBe(401);
    const rotated = await callJson<{ installToken: string }>(
      'POST',
      `/api/orgs/${a.orgId}/clusters/${cluster.id}/install-token`,
      { as: a.members.owner },
    );
    expect(rotated.status).toBe(200);
    expect((await connectTunnel(cluster.installToken)).status).toBe(401);
    const portal = await TestPortal.connect(rotated.body.installToken);
    portal.close();
  });

  it('closes a live tunnel with 4401 once its install token is rotated', async () => {
    const cluster = await newCluster(a, unique('t').toLowerCase());
    const portal = await TestPortal.connect(cluster.installToken);
    let closeCode = 0;
    portal.ws.addEventListener('close', (e) => {
      closeCode = e.code;
    });
    const rotated = await call('POST', `/api/orgs/${a.orgId}/clusters/${cluster.id}/install-token`, {
      as: a.members.owner,
    });
    expect(rotated.status).toBe(200);
    const res = await callJson('GET', promQuery(cluster.id), { as: a.members.viewer });
    expect(res.status).toBe(503);
    await portal.until(() => closeCode !== 0, 'close');
    expect(closeCode).toBe(4401);
    expect(portal.requests).toHaveLength(0);
  });

  it('refuses a plain request with 426', async () => {
    const res = await call('GET', '/api/v1/tunnel/connect', { headers: { authorization: 'Bearer x' } });
    expect(res.status).toBe(426);
  });

  it('records connected and then disconnected for the clusters page', async () => {
    const cluster = await newCluster(a, unique('t').toLowerCase());
    const status = async () =>
      (
        await callJson<{ status: string; lastSeenAt: number | null }>(
          'GET',
          `/api/orgs/${a.orgId}/clusters/${cluster.id}`,
          { as: a.members.viewer },
        )
      ).body;
    expect((await status()).status).toBe('pending');
    const portal = await TestPortal.connect(cluster.installToken);
    const connected = await status();
    expect(connected.status).toBe('connected');
    expect(connected.lastSeenAt).toBeGreaterThan(Date.now() - 60_000);
    portal.close();
    const deadline = Date.now() + 10_000;
    while ((await status()).status !== 'disconnected') {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});

describe('queries through the tunnel', () => {
  it('answers 503 cluster_not_connected at once when no portal is connected', async () => {
    const cluster = await newCluster(a, unique('t').toLowerCase());
    const res = await callJson('GET', promQuery(cluster.id), { as: a.members.viewer });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 'error', errorType: 'cluster_not_connected' });
    const logs = await callJson('GET', `/api/orgs/${a.orgId}/clusters/${cluster.id}/logs?start=1&end=2`, {
      as: a.members.viewer,
    });
    expect(logs.status).toBe(503);
    expect(logs.body).toMatchObject({ error: { code: 'cluster_not_connected' } });
  });

  it('routes many requests in flight answered out of order, each to its caller', async () => {
    const cluster = await newCluster(a, unique('t').toLowerCase());
    const portal = await TestPortal.connect(cluster.installToken);
    const n = 12;
    const calls = Array.from({ length: n }, (_, i) =>
      callJson('GET', promQuery(cluster.id, `up{i="${i}"}`), { token: a.serviceTokens.read.token }),
    );
    const requests = await portal.nextRequests(n);
    for (const req of requests) expect(req.kind).toBe('prom');
    for (const req of requests.reverse()) {
      const params = req.params as { path: string; args: [string, string][] };
      expect(params.path).toBe('/api/v1/query');
      portal.answer(req.id, JSON.stringify({ echo: params.args }));
    }
    const answers = await Promise.all(calls);
    answers.forEach((res, i) => {
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ echo: [['query', `up{i="${i}"}`]] });
    });
    portal.close();
  });

  it('answers from a whole-answer frame (version 2), still serves a version 1 portal, refuses version 3 (4426)', async () => {
    const cluster = await newCluster(a, unique('t').toLowerCase());
    const portal = await TestPortal.connect(cluster.installToken);
    const pending = call('GET', promQuery(cluster.id), { as: a.members.viewer });
    const [req] = await portal.nextRequests(1);
    portal.answerWhole(req!.id, '{"whole":true}', 422, 'application/json; charset=utf-8');
    const res = await pending;
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual({ whole: true });
    portal.close();
    await portal.until(() => portal.closed, 'close');

    const old = await TestPortal.connect(cluster.installToken, 'old-portal', undefined, 1);
    const viaOld = callJson('GET', promQuery(cluster.id), { as: a.members.viewer });
    const [oldReq] = await old.nextRequests(1);
    old.answer(oldReq!.id, '{"v":1}');
    expect((await viaOld).body).toEqual({ v: 1 });
    old.close();

    const future = await TestPortal.open(cluster.installToken);
    future.ws.send(
      encodeControl({ type: 'hello', version: 3, clusterId: null, replicaId: 'future', capabilities: [] }),
    );
    await future.until(() => future.closed, 'the version 3 portal closed');
    expect(future.closeCode).toBe(CLOSE_CODES.unsupportedVersion);
  });

  it('streams a large chunked answer complete and in order', async () => {
    const cluster = await newCluster(a, unique('t').toLowerCase());
    const portal = await TestPortal.connect(cluster.installToken);
    const size = 1_300_000;
    const body = new Uint8Array(size);
    for (let i = 0; i < size; i++) body[i] = (i * 31 + (i >> 11)) & 0xff;
    const pending = call('GET', promQuery(cluster.id), { as: a.members.viewer });
    const [req] = await portal.nextRequests(1);
    portal.answer(req!.id, body, 200, 'application/octet-stream');
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    const got = new Uint8Array(await res.arrayBuffer());
    expect(got.byteLength).toBe(size);
    // Digests, not a deep equality over a million elements (slow in vitest).
    expect(await sha256(got)).toBe(await sha256(body));
    portal.close();
  });

  it('answers 503 when the portal goes away mid-query, and the body fails after a head', async () => {
    // Seen under load (2026-11-26, 2026-11-27): this test hit vitest's 30 s limit; every wait is named so
    // the next failure says which step hung.
    const cluster = await within(newCluster(a, unique('t').toLowerCase()), 10_000, 'the new cluster');
    const portal = await within(TestPortal.connect(cluster.installToken), 10_000, 'the portal connection');
    const first = callJson('GET', promQuery(cluster.id), { as: a.members.viewer });
    const second = call('GET', promQuery(cluster.id), { as: a.members.viewer });
    const [r1, r2] = await within(portal.nextRequests(2), 10_000, 'both queries at the portal');
    // The second gets its head and part of its body, then the tunnel drops under both.
    const id2 = r2!.id === undefined ? '' : r2!.id;
    portal.ws.send(JSON.stringify({ type: 'head', id: id2, status: 200, contentType: 'text/plain' }));
    const res2 = await within(second, 10_000, 'the head of the second query');
    expect(res2.status).toBe(200);
    portal.close(1001);
    const res1 = await within(first, 10_000, 'the 503 of the query without a head');
    expect(res1.status).toBe(503);
    expect(res1.body).toMatchObject({ status: 'error', errorType: 'unavailable' });
    expect(JSON.stringify(res1.body)).toContain('disconnected');
    await expect(within(res2.text(), 10_000, 'the body of the query with a head to fail')).rejects.toThrow(
      /cannot complete|disconnected|closed/,
    );
    expect(r1).toBeDefined();
    // The cluster is reachable again as soon as a portal reconnects.
    const again = await within(TestPortal.connect(cluster.installToken), 10_000, 'the portal reconnecting');
    const third = callJson('GET', promQuery(cluster.id), { as: a.members.viewer });
    const [r3] = await within(again.nextRequests(1), 10_000, 'the query after the reconnect');
    again.answer(r3!.id, '{"ok":1}');
    expect((await within(third, 10_000, 'the answer after the reconnect')).body).toEqual({ ok: 1 });
    again.close();
  });

  it('sends cancel to the portal when the caller stops reading', async () => {
    const cluster = await newCluster(a, unique('t').toLowerCase());
    const portal = await TestPortal.connect(cluster.installToken);
    const pending = call('GET', promQuery(cluster.id), { as: a.members.viewer });
    const [req] = await portal.nextRequests(1);
    portal.ws.send(JSON.stringify({ type: 'head', id: req!.id, status: 200, contentType: 'text/plain' }));
    const res = await pending;
    expect(res.status).toBe(200);
    await res.body!.cancel();
    // workerd notices a cancelled stream across the worker -> Durable Object hop when the next bytes move.
    portal.ws.send(encodeChunk(req!.id, 0, new Uint8Array(1000)).buffer as ArrayBuffer);
    portal.ws.send(encodeChunk(req!.id, 1, new Uint8Array(1000)).buffer as ArrayBuffer);
    await portal.until(() => portal.cancels.includes(req!.id), 'cancel');
    portal.close();
  });

  it('enforces the deadline: 504 and cancel when the portal does not answer in time', async () => {
    const cluster = await newCluster(a, unique('t').toLowerCase());
    const portal = await TestPortal.connect(cluster.installToken);
    // A Prometheus timeout argument shortens the deadline (plus the edge's grace for the portal's own error).
    const pending = callJson('GET', `${promQuery(cluster.id)}&timeout=200ms`, { as: a.members.viewer });
    const [req] = await portal.nextRequests(1);
    expect(req!.timeoutMs).toBe(200);
    const res = await pending;
    expect(res.status).toBe(504);
    expect(res.body).toMatchObject({ status: 'error', errorType: 'timeout' });
    expect(portal.cancels).toContain(req!.id);
    portal.close();
  });

  it('passes the portal error codes on as HTTP statuses', async () => {
    const cluster = await newCluster(a, unique('t').toLowerCase());
    const portal = await TestPortal.connect(cluster.installToken);
    const pending = callJson('GET', promQuery(cluster.id), { as: a.members.viewer });
    const [req] = await portal.nextRequests(1);
    portal.ws.send(JSON.stringify({ type: 'error', id: req!.id, code: 'overloaded', message: 'busy' }));
    const res = await pending;
    expect(res.status).toBe(429);
    // In Prometheus' error shape on the Prometheus URL, so Grafana and promtool show the reason.
    expect(res.body).toEqual({ status: 'error', errorType: 'overloaded', error: 'busy' });
    portal.close();
  });

  it('spreads queries over replicas and survives one of them closing', async () => {
    const cluster = await newCluster(a, unique('t').toLowerCase());
    const one = await TestPortal.connect(cluster.installToken, 'replica-1');
    const two = await TestPortal.connect(cluster.installToken, 'replica-2');
    one.close();
    await one.until(() => one.closed, 'close');
    for (let i = 0; i < 4; i++) {
      const pending = callJson('GET', promQuery(cluster.id), { as: a.members.viewer });
      const [req] = await two.nextRequests(1);
      two.answer(req!.id, `{"n":${i}}`);
      expect((await pending).body).toEqual({ n: i });
    }
    two.close();
  });

  it('keeps answering through a new portal after the old one left', async () => {
    const cluster = await newCluster(a, unique('t').toLowerCase());
    const old = await TestPortal.connect(cluster.installToken, 'old');
    old.close(1001);
    await old.until(() => old.closed, 'close');
    const fresh = await TestPortal.connect(cluster.installToken, 'new');
    for (let i = 0; i < 30; i++) {
      const pending = callJson('GET', promQuery(cluster.id), { as: a.members.viewer });
      const [req] = await fresh.nextRequests(1);
      fresh.answer(req!.id, `{"n":${i}}`);
      const res = await pending;
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    fresh.close();
  });

  it('validates params before the tunnel: 400 and nothing sent to the portal', async () => {
    const cluster = await newCluster(a, unique('t').toLowerCase());
    const portal = await TestPortal.connect(cluster.installToken);
    const base = `/api/orgs/${a.orgId}/clusters/${cluster.id}`;
    for (const path of [`${base}/logs?start=10&end=5`, `${base}/traces/nothex`, `${base}/events?start=x`]) {
      const res = await callJson('GET', path, { as: a.members.viewer });
      expect(res.status, path).toBe(400);
      expect(res.body).toMatchObject({ error: { code: 'invalid_request' } });
    }
    expect(portal.requests).toHaveLength(0);
    portal.close();
  });

  it('maps the JSON query routes to their kinds with typed params', async () => {
    const cluster = await newCluster(a, unique('t').toLowerCase());
    const portal = await TestPortal.connect(cluster.installToken);
    const base = `/api/orgs/${a.orgId}/clusters/${cluster.id}`;
    const trace = 'AB'.repeat(16);
    const cases: [string, string, unknown][] = [
      [
        `${base}/logs?start=1000&end=2000&query=service%3Aweb`,
        'logs.search',
        { start: 1000, end: 2000, query: 'service:web', limit: 100, buckets: 60, order: 'desc' },
      ],
      [
        `${base}/traces?start=1&end=2&status=error`,
        'traces.search',
        { start: 1, end: 2, status: 'error', limit: 50 },
      ],
      [`${base}/traces/${trace}`, 'traces.get', { traceId: trace.toLowerCase() }],
      [
        `${base}/traces/${trace}/spans/${'cd'.repeat(8)}`,
        'traces.span',
        { traceId: trace.toLowerCase(), spanId: 'cd'.repeat(8) },
      ],
      [
        `${base}/events?start=1&end=2&type=Warning`,
        'events.list',
        { start: 1, end: 2, type: 'Warning', limit: 100 },
      ],
      [`${base}/services?start=1&end=2`, 'services.list', { start: 1, end: 2 }],
      [
        `${base}/services/shop/web/resources?start=1&end=2`,
        'services.resources',
        { start: 1, end: 2, namespace: 'shop', workload: 'web' },
      ],
      [
        `${base}/service-map?start=1&end=2&namespace=shop`,
        'services.map',
        { start: 1, end: 2, namespace: 'shop' },
      ],
    ];
    for (const [path, kind, params] of cases) {
      const pending = callJson('GET', path, { as: a.members.viewer });
      const [req] = await portal.nextRequests(1);
      expect(req!.kind, path).toBe(kind);
      expect(req!.params, path).toEqual(params);
      portal.answer(req!.id, '[]');
      expect((await pending).status).toBe(200);
    }
    portal.close();
  });
});

describe('who may query', () => {
  let cluster: { id: string; installToken: string };
  let portal: TestPortal;
  beforeAll(async () => {
    cluster = await newCluster(a, unique('t').toLowerCase());
    portal = await TestPortal.connect(cluster.installToken);
  });

  /** Answers every request that arrives while `run` waits. */
  async function served(run: () => Promise<{ status: number }>): Promise<number> {
    const pending = run();
    let settled = false;
    void pending.finally(() => {
      settled = true;
    });
    await portal.until(() => settled || portal.requests.length > 0, 'request or answer');
    for (const req of portal.requests.splice(0)) portal.answer(req.id, '{"status":"success"}');
    return (await pending).status;
  }

  it('lets a viewer, a read token (bearer and basic auth) and a personal token read', async () => {
    const path = promQuery(cluster.id);
    expect(await served(() => callJson('GET', path, { as: a.members.viewer }))).toBe(200);
    expect(await served(() => callJson('GET', path, { token: a.serviceTokens.read.token }))).toBe(200);
    const basic = `Basic ${btoa(`grafana:${a.serviceTokens.read.token}`)}`;
    expect(await served(() => callJson('GET', path, { headers: { authorization: basic } }))).toBe(200);
    const post = await served(() =>
      callJson('POST', path.replace(/\?.*$/, ''), {
        token: a.serviceTokens.read.token,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
    );
    expect(post).toBe(200);
  });

  it('refuses other orgs (404), an ingest token (403), a revoked token and basic auth off the Prometheus URL (401)', async () => {
    expect((await callJson('GET', promQuery(cluster.id), { as: b.members.owner })).status).toBe(404);
    expect((await callJson('GET', promQuery(cluster.id, 'up', b), { as: b.members.owner })).status).toBe(404);
    expect(
      (await callJson('GET', promQuery(cluster.id), { token: b.serviceTokens.admin.token })).status,
    ).toBe(404);
    expect(
      (await callJson('GET', promQuery(cluster.id), { token: a.serviceTokens.ingest.token })).status,
    ).toBe(403);
    expect((await callJson('GET', promQuery(cluster.id))).status).toBe(401);
    const t = await callJson<{ id: string; token: string }>(
      'POST',
      `/api/orgs/${a.orgId}/service-accounts/${a.serviceAccountId}/tokens`,
      { as: a.members.owner, body: { name: 'soon-revoked', scopes: ['read'] } },
    );
    expect(t.status).toBe(201);
    const revoke = await call(
      'DELETE',
      `/api/orgs/${a.orgId}/service-accounts/${a.serviceAccountId}/tokens/${t.body.id}`,
      { as: a.members.owner },
    );
    expect(revoke.status).toBe(200);
    expect((await callJson('GET', promQuery(cluster.id), { token: t.body.token })).status).toBe(401);
    const basic = `Basic ${btoa(`x:${t.body.token}`)}`;
    expect((await callJson('GET', promQuery(cluster.id), { headers: { authorization: basic } })).status).toBe(
      401,
    );
    const other = `Basic ${btoa(`x:${a.serviceTokens.read.token}`)}`;
    const res = await callJson('GET', `/api/orgs/${a.orgId}/clusters/${cluster.id}`, {
      headers: { authorization: other },
    });
    expect(res.status).toBe(401);
    expect(portal.requests).toHaveLength(0);
  });
});
