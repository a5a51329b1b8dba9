import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CallOptions, callJson } from '../../test/client.ts';
import { createOrgWorld, type OrgWorld } from '../../test/fixtures.ts';
import { TestPortal } from '../../test/tunnelPortal.ts';
import { admitTestSend, TEST_SEND_LIMITS, type TestSendLog } from './testSendLimit.ts';

/**
 * The per-target and per-cluster limits of test notifications: the sliding window itself, then through the real
 * worker, the cluster's Durable Object and a portal played by the test (what is refused never reaches the
 * cluster, answers 429 with Retry-After and is audited; the count lives in the Durable Object's storage).
 */
const limits = { perTarget: 2, perCluster: 3, windowMs: 60_000 };

describe('admitTestSend', () => {
  it('allows perTarget sends per window, then says when the oldest one leaves it', () => {
    let log: TestSendLog = new Map();
    for (const at of [1_000, 21_000]) {
      const next = admitTestSend(log, 't1', at, limits);
      expect(next.decision).toEqual({ allowed: true });
      log = next.log;
    }
    expect(admitTestSend(log, 't1', 30_000, limits).decision).toEqual({
      allowed: false,
      limit: 'target',
      retryAfterSeconds: 31, // the send at 1 s leaves the window at 61 s
    });
    // Just past the first send's minute: room for one again, not two.
    const later = admitTestSend(log, 't1', 61_001, limits);
    expect(later.decision).toEqual({ allowed: true });
    expect(admitTestSend(later.log, 't1', 61_002, limits).decision).toMatchObject({ allowed: false });
  });

  it('caps the cluster across targets and forgets targets whose sends left the window', () => {
    let log: TestSendLog = new Map();
    for (const [id, at] of [
      ['a', 0],
      ['b', 10_000],
      ['__proto__', 20_000],
    ] as const) {
      const next = admitTestSend(log, id, at, limits);
      expect(next.decision, id).toEqual({ allowed: true });
      log = next.log;
    }
    expect(admitTestSend(log, 'c', 30_000, limits).decision).toEqual({
      allowed: false,
      limit: 'cluster',
      retryAfterSeconds: 30,
    });
    const next = admitTestSend(log, 'c', 60_500, limits);
    expect(next.decision).toEqual({ allowed: true });
    expect([...next.log.keys()].sort()).toEqual(['__proto__', 'b', 'c']);
  });
});

describe('test notifications through the edge', () => {
  let w: OrgWorld;
  let portal: TestPortal;
  const base = () => `/api/orgs/${w.orgId}/clusters/${w.clusterId}`;

  beforeAll(async () => {
    w = await createOrgWorld();
    portal = await TestPortal.connect(w.installToken);
  }, 60_000);
  afterAll(() => portal?.close());

  /** A test send the portal answers as delivered. */
  async function sendTest(targetId: string, who: CallOptions = { as: w.members.editor }) {
    const result = { delivered: true, status: 204, error: null, notificationId: 'n', durationMs: 1 };
    const res = await portal.callThrough('POST', `${base()}/notification-targets/${targetId}/test`, who, {
      result,
    });
    expect(res.request.params).toMatchObject({ id: targetId });
    return res;
  }

  /** A test send that must be refused before the tunnel. */
  async function refusedTest(targetId: string, who: CallOptions = { as: w.members.editor }) {
    const before = portal.requests.length;
    const res = await callJson<{ error: { code: string; message: string } }>(
      'POST',
      `${base()}/notification-targets/${targetId}/test`,
      who,
    );
    expect(res.status, targetId).toBe(429);
    expect(res.body.error.code).toBe('too_many_requests');
    const retryAfter = Number(res.res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(TEST_SEND_LIMITS.windowMs / 1000);
    expect(portal.requests.length).toBe(before);
    return res.body.error.message;
  }

  it('refuses the send past the per-target limit with 429 and Retry-After, audited, nothing sent', async () => {
    for (let i = 0; i < TEST_SEND_LIMITS.perTarget; i++) {
      // Editors and write tokens share the target's allowance.
      const who = i % 2 ? { token: w.serviceTokens.write.token } : { as: w.members.editor };
      expect((await sendTest('tgt_hook', who)).status).toBe(200);
    }
    expect(await refusedTest('tgt_hook')).toMatch(
      new RegExp(`at most ${TEST_SEND_LIMITS.perTarget} per target per minute`),
    );
    await refusedTest('tgt_hook', { token: w.serviceTokens.write.token });
    // Another target has its own allowance.
    expect((await sendTest('tgt_other')).status).toBe(200);

    const rows = await env.DB.prepare(
      "SELECT actor, target_id, outcome, details FROM audit_log WHERE org_id = ? AND action = 'notification_target.test' ORDER BY id",
    )
      .bind(w.orgId)
      .all<{ actor: string; target_id: string; outcome: string; details: string }>();
    const refusals = rows.results.filter((r) => r.outcome === 'failure');
    expect(refusals.map((r) => [r.actor, r.target_id])).toEqual([
      [`user:${w.members.editor.userId}`, 'tgt_hook'],
      [`token:${w.serviceTokens.write.id}`, 'tgt_hook'],
    ]);
    expect(JSON.parse(refusals[0]!.details)).toMatchObject({
      clusterId: w.clusterId,
      reason: 'rate_limited',
      limit: 'target',
    });
    expect(rows.results.filter((r) => r.outcome === 'success')).toHaveLength(TEST_SEND_LIMITS.perTarget + 1);
  });

  it('caps the whole cluster, so many targets cannot multiply the rate', async () => {
    // perTarget + 1 sends so far in this cluster; fill the rest of its allowance over fresh targets.
    let sent = TEST_SEND_LIMITS.perTarget + 1;
    for (let i = 0; sent < TEST_SEND_LIMITS.perCluster; i++) {
      for (let j = 0; j < TEST_SEND_LIMITS.perTarget - 1 && sent < TEST_SEND_LIMITS.perCluster; j++, sent++)
        expect((await sendTest(`tgt_many_${i}`)).status).toBe(200);
    }
    expect(await refusedTest('tgt_never_used')).toMatch(
      new RegExp(`at most ${TEST_SEND_LIMITS.perCluster} per cluster per minute`),
    );
  });

  it("keeps the count in the cluster's Durable Object storage, shared by every isolate", async () => {
    const other = await createOrgWorld();
    const stub = env.CLUSTER_TUNNEL.get(env.CLUSTER_TUNNEL.idFromName(other.clusterId));
    // Sends counted by another worker isolate reach this object just as this one's would.
    for (let i = 0; i < TEST_SEND_LIMITS.perTarget; i++) {
      const res = await stub.fetch('https://cluster-tunnel/test-send', {
        method: 'POST',
        body: JSON.stringify({ targetId: 'tgt_shared' }),
      });
      expect(await res.json()).toEqual({ allowed: true });
    }
    const stored = await runInDurableObject(stub, (_o, state) => state.storage.get<TestSendLog>('testSends'));
    expect(stored?.get('tgt_shared')).toHaveLength(TEST_SEND_LIMITS.perTarget);
    const res = await callJson(
      'POST',
      `/api/orgs/${other.orgId}/clusters/${other.clusterId}/notification-targets/tgt_shared/test`,
      {
        as: other.members.editor,
      },
    );
    expect(res.status).toBe(429);
    // Another organization's member cannot spend (or probe) this cluster's allowance: 404 before any count.
    const foreign = await callJson(
      'POST',
      `/api/orgs/${w.orgId}/clusters/${other.clusterId}/notification-targets/tgt_x/test`,
      { as: w.members.editor },
    );
    expect(foreign.status).toBe(404);
    const after = await runInDurableObject(stub, (_o, state) => state.storage.get<TestSendLog>('testSends'));
    expect(after?.has('tgt_x')).toBe(false);
  }, 60_000);
});
