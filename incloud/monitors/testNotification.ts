import { randomUUID } from 'node:crypto';
import type { TargetSpec, TestNotificationResult } from '../../lib/tunnel/monitors.ts';
import { postOnce } from './delivery.ts';
import { DEFAULT_NOTIFIER } from './notifier.ts';
import { slackPayload, testPayload } from './payloads.ts';

/**
 * Sends ONE clearly marked test notification (payloads.ts `testPayload`) to a target and reports what the
 * receiver answered. Runs in the portal, which holds the target's secret; the same POST as a real
 * notification's attempt (delivery.ts: deadline, no redirects, bounded answer), but never retried: the editor
 * wants to know what happens now. Only the status is reported, never the receiver's body: the URL may point
 * anywhere the cluster can reach, and echoing bodies would turn a webhook into a way to read internal services.
 */
export async function sendTestNotification(
  target: TargetSpec,
  requestedBy: string,
  signal: AbortSignal,
  timeoutMs: number = DEFAULT_NOTIFIER.attemptTimeoutMs,
): Promise<TestNotificationResult> {
  const notificationId = randomUUID();
  const payload = testPayload(notificationId, target, requestedBy, Date.now());
  const body = JSON.stringify(target.type === 'slack' ? slackPayload(payload) : payload);
  const started = performance.now();
  const outcome = await postOnce(target, notificationId, body, { timeoutMs, signal });
  return {
    delivered: outcome.kind === 'ok',
    status: outcome.status ?? null,
    error: outcome.kind === 'ok' ? null : (outcome.reason ?? 'failed'),
    notificationId,
    durationMs: Math.round(performance.now() - started),
  };
}
