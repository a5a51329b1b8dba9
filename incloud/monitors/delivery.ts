import type { TargetSpec } from '../../lib/tunnel/monitors.ts';

/**
 * How much of a receiver's answer is read before the connection is dropped. The answer is never used (only its
 * status), but it must be consumed to reuse the connection; a receiver that streams without end must not hold
 * the evaluator's (or the portal's) memory.
 */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/** What one POST to a target came to. `retry`: worth another attempt (network, timeout, 408, 429, 5xx). */
export interface AttemptOutcome {
  kind: 'ok' | 'retry' | 'permanent';
  /** The receiver's HTTP status; absent when it never answered. */
  status?: number;
  /** Why it failed: `HTTP 503 Service Unavailable`, `no answer within 10000 ms`, the network error. */
  reason?: string;
  retryAfterMs?: number;
}

/**
 * ONE POST of a notification body to a target: the deadline `timeoutMs`, redirects refused (a webhook URL is
 * the whole address; following one would send the payload and headers somewhere the editor did not name),
 * at most MAX_RESPONSE_BYTES of the answer read. Used by the Notifier for every attempt of a real notification
 * and by the portal's test send, so both have the same limits. Never throws.
 */
export async function postOnce(
  target: Pick<TargetSpec, 'url' | 'headers'>,
  notificationId: string,
  body: string,
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<AttemptOutcome> {
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([deadline, opts.signal]) : deadline;
  try {
    const res = await fetch(target.url, {
      method: 'POST',
      headers: {
        ...target.headers,
        'content-type': 'application/json',
        'x-understory-notification-id': notificationId,
      },
      body,
      redirect: 'error',
      signal,
    });
    await drain(res, MAX_RESPONSE_BYTES);
    if (res.ok) return { kind: 'ok', status: res.status };
    const reason = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
    if (res.status === 408 || res.status === 429 || res.status >= 500) {
      const retryAfter = Number(res.headers.get('retry-after'));
      return {
        kind: 'retry',
        status: res.status,
        reason,
        retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
      };
    }
    return { kind: 'permanent', status: res.status, reason };
  } catch (err) {
    if (deadline.aborted) return { kind: 'retry', reason: `no answer within ${opts.timeoutMs} ms` };
    return { kind: 'retry', reason: networkReason(err) };
  }
}

/** fetch reports "fetch failed"; the useful part (ECONNREFUSED, unexpected redirect, TLS) is its cause. */
function networkReason(err: unknown): string {
  const e = err as Error & { cause?: { message?: string; code?: string } };
  const cause = e.cause?.message ?? e.cause?.code;
  return cause ? `${e.message}: ${cause}` : e.message;
}

/** Reads and drops up to `max` bytes of the answer, then cancels the rest. */
async function drain(res: Response, max: number): Promise<void> {
  const reader = res.body?.getReader();
  if (!reader) return;
  let read = 0;
  try {
    while (read <= max) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // The status is what counts; a broken body after it does not change the outcome.
  }
}
