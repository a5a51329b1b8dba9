/**
 * How often a notification target may be sent a test notification. Each test is one POST from the cluster to a
 * URL the caller chose; without a bound an editor (or a write token) could make the cluster send an endless
 * stream of requests to any webhook. Two sliding windows of one minute: per target, and per cluster (so that
 * many targets pointing to the same URL do not multiply the rate, and so that the log below stays small).
 *
 * The log lives in the cluster's Durable Object (`ClusterTunnel`, internal endpoint `POST /test-send`), which is
 * the single place every worker isolate reaches for that cluster; it is kept in the object's durable storage,
 * so it also survives the object being evicted or restarted. The Durable Object's input gate keeps the
 * read-check-write below from interleaving with another request's.
 */
import type { Context } from 'hono';
import { audit } from '../audit.ts';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../errors.ts';

export const TEST_SEND_LIMITS = {
  /** Test sends per target within `windowMs`. */
  perTarget: 5,
  /** Test sends per cluster (all its targets) within `windowMs`. */
  perCluster: 20,
  windowMs: 60_000,
} as const;

type Limits = { perTarget: number; perCluster: number; windowMs: number };

/**
 * Send times (epoch ms) per target id, within the last window only. A Map, not an object: target ids come from
 * the URL and `__proto__` is a valid one.
 */
export type TestSendLog = Map<string, number[]>;

export type TestSendDecision =
  | { allowed: true }
  | { allowed: false; limit: 'target' | 'cluster'; retryAfterSeconds: number };

const STORAGE_KEY = 'testSends';

/**
 * Decides whether `targetId` may be sent a test now, and returns the log to keep (entries older than the window
 * dropped, the new send added when allowed). Pure: `now` and the limits come from the caller.
 */
export function admitTestSend(
  log: TestSendLog,
  targetId: string,
  now: number,
  limits: Limits = TEST_SEND_LIMITS,
): { decision: TestSendDecision; log: TestSendLog } {
  const since = now - limits.windowMs;
  const kept: TestSendLog = new Map();
  for (const [id, times] of log) {
    const recent = times.filter((t) => t > since);
    if (recent.length > 0) kept.set(id, recent);
  }
  const mine = kept.get(targetId) ?? [];
  const all = [...kept.values()].flat();
  // The wait lasts until enough of the oldest sends have left the window to make room for one more.
  const refuse = (limit: 'target' | 'cluster', times: number[], max: number) => {
    const oldest = [...times].sort((a, b) => a - b)[times.length - max]!;
    const retryAfterSeconds = Math.max(1, Math.ceil((oldest + limits.windowMs - now) / 1000));
    return { decision: { allowed: false, limit, retryAfterSeconds } as const, log: kept };
  };
  if (mine.length >= limits.perTarget) return refuse('target', mine, limits.perTarget);
  if (all.length >= limits.perCluster) return refuse('cluster', all, limits.perCluster);
  kept.set(targetId, [...mine, now]);
  return { decision: { allowed: true }, log: kept };
}

/** The Durable Object's side (`POST /test-send` with `{ targetId }`): decides and records in its storage. */
export async function admitTestSendInStorage(
  storage: DurableObjectStorage,
  targetId: string,
): Promise<TestSendDecision> {
  const log = (await storage.get<TestSendLog>(STORAGE_KEY)) ?? new Map();
  const next = admitTestSend(log, targetId, Date.now());
  await storage.put(STORAGE_KEY, next.log);
  return next.decision;
}

/**
 * The worker's side, before the test enters the tunnel (the cluster was checked to belong to the organization
 * first, so nobody spends another organization's allowance): asks the cluster's Durable Object, and on a refusal
 * audits it and answers 429 with `Retry-After`.
 */
export async function limitTestSend(
  c: Context<AppEnv>,
  ids: { orgId: string; clusterId: string; targetId: string },
): Promise<void> {
  const stub = c.env.CLUSTER_TUNNEL.get(c.env.CLUSTER_TUNNEL.idFromName(ids.clusterId));
  const res = await stub.fetch('https://cluster-tunnel/test-send', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ targetId: ids.targetId }),
  });
  const decision = (await res.json()) as TestSendDecision;
  if (decision.allowed) return;
  await audit(c, {
    orgId: ids.orgId,
    action: 'notification_target.test',
    targetType: 'notification_target',
    targetId: ids.targetId,
    outcome: 'failure',
    details: {
      clusterId: ids.clusterId,
      reason: 'rate_limited',
      limit: decision.limit,
      retryAfterSeconds: decision.retryAfterSeconds,
    },
  });
  const max =
    decision.limit === 'target'
      ? `${TEST_SEND_LIMITS.perTarget} per target`
      : `${TEST_SEND_LIMITS.perCluster} per cluster`;
  throw new ApiError(
    429,
    'too_many_requests',
    `cannot send a test notification: at most ${max} per minute; try again in ${decision.retryAfterSeconds} s`,
    { 'retry-after': String(decision.retryAfterSeconds) },
  );
}
