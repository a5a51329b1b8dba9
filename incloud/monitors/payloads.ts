import type { MonitorSpec } from '../../lib/tunnel/monitors.ts';
import type { Transition } from './alertTracker.ts';

/**
 * Renders a monitor's message template. Only these placeholders exist: {{monitor}} {{severity}} {{state}}
 * {{value}} {{threshold}} {{labels.NAME}}; anything else is left as written. Plain substitution, nothing is
 * evaluated, so a template cannot run code or queries (vmalert's Go templates could: they are not used).
 */
export function renderMessage(monitor: MonitorSpec, t: Transition): string {
  const vars: Record<string, string> = {
    monitor: monitor.name,
    severity: monitor.severity,
    state: t.to,
    value: formatValue(t.value),
    threshold: formatValue(monitor.condition.threshold),
  };
  return monitor.message.replace(/\{\{\s*([A-Za-z0-9_.]+)\s*\}\}/g, (all, name: string) => {
    if (name.startsWith('labels.')) return t.labels[name.slice('labels.'.length)] ?? '';
    return vars[name] ?? all;
  });
}

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
}

export interface NotificationAlert {
  fingerprint: string;
  state: 'firing' | 'resolved';
  labels: Record<string, string>;
  value: number;
  message: string;
  activeSince: string;
  at: string;
}

/** The generic JSON payload (version 1). One notification carries one group: one monitor's transitions. */
export interface WebhookPayload {
  version: 1;
  /** The same on every retry of this notification, so a receiver can drop duplicates. */
  notificationId: string;
  /** `firing` when any alert in the group fires. */
  status: 'firing' | 'resolved';
  monitor: { id: string; name: string; severity: string };
  alerts: NotificationAlert[];
  /** Only on a test notification (`targets.test`): no monitor fired; receivers may drop it. */
  test?: true;
}

/** The monitor id a test notification names; no real monitor can have it (ids start with a letter or digit). */
export const TEST_MONITOR_ID = '_understory_test';

/**
 * A test notification: the generic payload with `test: true`, a monitor named `[TEST] ...` and a label
 * `understory_test="true"`, so it cannot be mistaken for an alert by a person or a receiver's rules.
 */
export function testPayload(
  notificationId: string,
  target: { id: string; name: string },
  requestedBy: string,
  at: number,
): WebhookPayload {
  const when = new Date(at).toISOString();
  const by = requestedBy ? ` by ${requestedBy}` : '';
  return {
    version: 1,
    notificationId,
    status: 'firing',
    test: true,
    monitor: { id: TEST_MONITOR_ID, name: '[TEST] Understory test notification', severity: 'info' },
    alerts: [
      {
        fingerprint: '0000000000000000',
        state: 'firing',
        labels: { understory_test: 'true', target: target.name },
        value: 0,
        message: `Test notification to target "${target.name}" (${target.id}), sent${by} at ${when}. No monitor fired; nothing needs doing.`,
        activeSince: when,
        at: when,
      },
    ],
  };
}

export function notificationAlert(monitor: MonitorSpec, t: Transition): NotificationAlert {
  return {
    fingerprint: t.fingerprint,
    state: t.to === 'firing' ? 'firing' : 'resolved',
    labels: t.labels,
    value: t.value,
    message: renderMessage(monitor, t),
    activeSince: new Date(t.activeSince).toISOString(),
    at: new Date(t.at).toISOString(),
  };
}

export function webhookPayload(
  notificationId: string,
  monitor: MonitorSpec,
  alerts: NotificationAlert[],
): WebhookPayload {
  return {
    version: 1,
    notificationId,
    status: alerts.some((a) => a.state === 'firing') ? 'firing' : 'resolved',
    monitor: { id: monitor.id, name: monitor.name, severity: monitor.severity },
    alerts,
  };
}

/** Slack's incoming-webhook shape: `text` (the fallback and notification line) plus mrkdwn `blocks`. */
export function slackPayload(p: WebhookPayload): { text: string; blocks: unknown[] } {
  const icon = p.test ? ':test_tube:' : p.status === 'firing' ? ':rotating_light:' : ':white_check_mark:';
  const title = p.test
    ? `${icon} ${p.monitor.name}`
    : `${icon} [${p.status.toUpperCase()}] ${p.monitor.name} (${p.monitor.severity})`;
  const lines = p.alerts.slice(0, 20).map((a) => `• *${a.state}* ${slackEscape(a.message)}`);
  if (p.alerts.length > 20) lines.push(`… and ${p.alerts.length - 20} more`);
  return {
    text: slackEscape(title),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n').slice(0, 3000) } },
    ],
  };
}

/** Slack treats <, > and & as control characters in mrkdwn. */
function slackEscape(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
