import { randomUUID } from 'node:crypto';
import { logger } from '../../lib/log.ts';
import type { MonitorSpec, SilenceSpec, TargetSpec } from '../../lib/tunnel/monitors.ts';
import { type AttemptOutcome, postOnce } from './delivery.ts';
import type { MonitorMetrics } from './metrics.ts';
import { type NotificationAlert, slackPayload, webhookPayload } from './payloads.ts';

export interface RetryPolicy {
  /** First delay; doubled per attempt (equal jitter: half fixed, half random) up to maxMs. */
  initialMs: number;
  maxMs: number;
  /** Attempts in total (first one included); after the last the notification is dropped and counted. */
  maxAttempts: number;
}

export interface NotifierOptions {
  /** Transitions of one monitor to one target within this time go out as one notification. */
  groupWaitMs: number;
  retry: RetryPolicy;
  /** One HTTP attempt's deadline. */
  attemptTimeoutMs: number;
  metrics?: MonitorMetrics;
}

export const DEFAULT_NOTIFIER: NotifierOptions = {
  groupWaitMs: 2000,
  retry: { initialMs: 1000, maxMs: 60_000, maxAttempts: 12 },
  attemptTimeoutMs: 10_000,
};

/** Whether an active silence matches every one of its matchers against `labels` at `at`. */
export function isSilenced(silences: readonly SilenceSpec[], labels: Record<string, string>, at: number) {
  return silences.some(
    (s) =>
      s.startsAt <= at &&
      at < s.endsAt &&
      Object.entries(s.matchers).every(([name, value]) => labels[name] === value),
  );
}

interface Group {
  monitor: MonitorSpec;
  target: TargetSpec;
  alerts: NotificationAlert[];
  timer: NodeJS.Timeout;
}

/**
 * Sends notifications to webhook targets: groups transitions per (monitor, target) for `groupWaitMs`, then
 * POSTs one payload and retries it with backoff on network errors, timeouts, 408, 429 and 5xx until delivered
 * or `maxAttempts` is spent; other 4xx answers are permanent. Every retry of a notification carries the same
 * `notificationId` (body and `X-Understory-Notification-Id`), so each transition reaches a target in exactly one
 * notification. Held in memory only: notifications still waiting when the process stops are lost (counted).
 * Called from the evaluator's event loop; sends run concurrently, each awaiting its own retries.
 */
export class Notifier {
  private readonly groups = new Map<string, Group>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stopped = new AbortController();
  private readonly log = logger('monitors.notifier');

  constructor(private readonly opts: NotifierOptions) {}

  enqueue(monitor: MonitorSpec, target: TargetSpec, alert: NotificationAlert): void {
    if (this.stopped.signal.aborted) return;
    const key = `${monitor.id}\u0000${target.id}`;
    const group = this.groups.get(key);
    if (group) {
      group.alerts.push(alert);
      return;
    }
    const timer = setTimeout(() => this.flush(key), this.opts.groupWaitMs);
    this.groups.set(key, { monitor, target, alerts: [alert], timer });
  }

  private flush(key: string): void {
    const group = this.groups.get(key);
    if (!group) return;
    this.groups.delete(key);
    const p = this.deliver(group).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async deliver(g: Group): Promise<void> {
    const id = randomUUID();
    const payload = webhookPayload(id, g.monitor, g.alerts);
    const body = JSON.stringify(g.target.type === 'slack' ? slackPayload(payload) : payload);
    const { retry } = this.opts;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(g.target, id, body);
      this.opts.metrics?.notificationAttempts.inc({ result: outcome.kind });
      if (outcome.kind === 'ok') {
        this.opts.metrics?.notifications.inc({ outcome: 'delivered' });
        return;
      }
      const last = outcome.kind === 'permanent' || attempt >= retry.maxAttempts;
      if (last || this.stopped.signal.aborted) {
        this.opts.metrics?.notifications.inc({ outcome: 'failed' });
        this.log.warn(
          { target: g.target.id, monitor: g.monitor.id, attempts: attempt, reason: outcome.reason },
          'cannot deliver notification: giving up',
        );
        return;
      }
      const base = Math.min(retry.maxMs, retry.initialMs * 2 ** (attempt - 1));
      const delay = Math.max(base / 2 + Math.random() * (base / 2), outcome.retryAfterMs ?? 0);
      await sleep(Math.min(delay, retry.maxMs), this.stopped.signal);
    }
  }

  private attempt(target: TargetSpec, id: string, body: string): Promise<AttemptOutcome> {
    return postOnce(target, id, body, { timeoutMs: this.opts.attemptTimeoutMs, signal: this.stopped.signal });
  }

  /** Notifications waiting for their group or in flight. */
  get pending(): number {
    return this.groups.size + this.inFlight.size;
  }

  /** Drops waiting groups (counted), stops retries and waits for attempts in progress to end. */
  async shutdown(): Promise<void> {
    for (const g of this.groups.values()) {
      clearTimeout(g.timer);
      this.opts.metrics?.notifications.inc({ outcome: 'dropped' });
    }
    this.groups.clear();
    this.stopped.abort();
    await Promise.allSettled([...this.inFlight]);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
