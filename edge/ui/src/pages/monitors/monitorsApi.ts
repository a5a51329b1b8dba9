/**
 * Monitors, alerts, notification targets and silences of one cluster through the edge
 * (`/api/orgs/{org}/clusters/{cluster}/...`, edge/src/routes/monitors.ts; answered by the cluster's portal,
 * incloud/monitors/README.md). Viewers read; editors change. Target URLs and header values are write-only:
 * no answer carries them, so the UI never has them to show.
 */
import type {
  AlertHistoryRow,
  AlertView,
  Comparison,
  MonitorInput,
  SqlDryRunResult,
  TargetView,
  TestNotificationResult,
} from '../../../../../lib/tunnel/monitors.ts';
import { api } from '../../api.ts';
import { type ClusterRef, clusterUrl, type QueryArgs } from '../../clusterApi.ts';

export type {
  AlertHistoryRow,
  AlertView,
  Comparison,
  MonitorInput,
  SqlDryRunResult,
  TargetView,
  TestNotificationResult,
};

/** The portal's copy of lib/tunnel/monitors.ts' constants (that module imports zod, which is not bundled). */
export const COMPARISONS: Comparison[] = ['>', '>=', '<', '<=', '==', '!='];
export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const SQL_SOURCES = ['logs', 'traces', 'events'] as const;
export type SqlSource = (typeof SQL_SOURCES)[number];
export const SQL_GROUP_FIELDS: Record<SqlSource, string[]> = {
  logs: ['service', 'severity', 'namespace', 'pod', 'container', 'node', 'host'],
  traces: ['service', 'name', 'namespace', 'pod', 'status'],
  events: ['namespace', 'kind', 'name', 'reason', 'workload', 'type'],
};
export const MONITOR_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** What a ready-made monitor accepts as a parameter value (incloud/monitors/templates.ts). */
export const TEMPLATE_NAME = /^[A-Za-z0-9_.:/@-]{1,256}$/;

export interface PromqlCondition {
  type: 'promql';
  query: string;
  op: Comparison;
  threshold: number;
}
export interface SqlCondition {
  type: 'sql';
  source: SqlSource;
  filter: string;
  aggregate: 'count' | 'avg' | 'p99';
  windowSeconds: number;
  groupBy?: string;
  op: Comparison;
  threshold: number;
}

/** A stored monitor (every default filled in by the portal). */
export interface Monitor {
  id: string;
  name: string;
  enabled: boolean;
  severity: Severity;
  condition: PromqlCondition | SqlCondition;
  intervalSeconds: number;
  forSeconds: number;
  labels: Record<string, string>;
  message: string;
  targets: string[];
}
/**
 * A monitor as listed: its alert counts and since when it is in its state (epoch ms; null: no transition in
 * 30 days), computed by the portal from the alert history.
 */
export type MonitorWithCounts = Monitor & {
  alerts: { pending: number; firing: number };
  lastTransitionAt: number | null;
};

export interface TemplateParam {
  name: string;
  description: string;
  required: boolean;
  default?: string;
}
export interface MonitorTemplate {
  id: string;
  name: string;
  description: string;
  params: TemplateParam[];
}

export interface Silence {
  id: string;
  matchers: Record<string, string>;
  startsAt: number;
  endsAt: number;
  comment: string;
  createdBy: string;
}

export interface TargetInput {
  name: string;
  type: 'webhook' | 'slack';
  url: string;
  headers: Record<string, string>;
}

/** The label the evaluator puts on every alert of a monitor; a silence on it mutes the monitor. */
export const MONITOR_LABEL = 'understory_monitor';

const path = (ref: ClusterRef, p: string, args?: QueryArgs) => clusterUrl(ref, p, args);
const seg = encodeURIComponent;

export const monitorsApi = {
  list: (ref: ClusterRef) => api<{ monitors: MonitorWithCounts[] }>('GET', path(ref, 'monitors')),
  get: (ref: ClusterRef, id: string) =>
    api<{ monitor: Monitor; alerts: AlertView[]; lastTransitionAt: number | null }>(
      'GET',
      path(ref, `monitors/${seg(id)}`),
    ),
  create: (ref: ClusterRef, m: MonitorInput) => api<{ monitor: Monitor }>('POST', path(ref, 'monitors'), m),
  update: (ref: ClusterRef, id: string, m: MonitorInput) =>
    api<{ monitor: Monitor }>('PUT', path(ref, `monitors/${seg(id)}`), m),
  remove: (ref: ClusterRef, id: string) =>
    api<{ deleted: string }>('DELETE', path(ref, `monitors/${seg(id)}`)),
  /** Runs a SQL condition once in the cluster, as the evaluator would; stores nothing. */
  dryRun: (ref: ClusterRef, p: { condition: SqlCondition; intervalSeconds: number }) =>
    api<{ result: SqlDryRunResult }>('POST', path(ref, 'monitors/dry-run'), p),
  templates: (ref: ClusterRef) =>
    api<{ templates: MonitorTemplate[] }>('GET', path(ref, 'monitor-templates')),
  fromTemplate: (ref: ClusterRef, id: string, params: Record<string, string>, targets: string[]) =>
    api<{ monitor: Monitor }>('POST', path(ref, `monitor-templates/${seg(id)}`), { params, targets }),
  alerts: (ref: ClusterRef) => api<{ alerts: AlertView[] }>('GET', path(ref, 'alerts')),
  history: (ref: ClusterRef, a: { start: number; end: number; monitorId?: string; limit?: number }) =>
    api<{ history: AlertHistoryRow[] }>('GET', path(ref, 'alerts/history', a)),
  targets: (ref: ClusterRef) => api<{ targets: TargetView[] }>('GET', path(ref, 'notification-targets')),
  createTarget: (ref: ClusterRef, t: TargetInput) =>
    api<{ target: TargetView }>('POST', path(ref, 'notification-targets'), t),
  replaceTarget: (ref: ClusterRef, id: string, t: TargetInput) =>
    api<{ target: TargetView }>('PUT', path(ref, `notification-targets/${seg(id)}`), t),
  removeTarget: (ref: ClusterRef, id: string) =>
    api<{ deleted: string }>('DELETE', path(ref, `notification-targets/${seg(id)}`)),
  /** One marked test notification, sent by the cluster (which holds the URL); the receiver's status. */
  testTarget: (ref: ClusterRef, id: string) =>
    api<{ result: TestNotificationResult }>('POST', path(ref, `notification-targets/${seg(id)}/test`)),
  silences: (ref: ClusterRef) => api<{ silences: Silence[] }>('GET', path(ref, 'silences')),
  createSilence: (ref: ClusterRef, s: Omit<Silence, 'id' | 'createdBy'>) =>
    api<{ silence: Silence }>('POST', path(ref, 'silences'), s),
  endSilence: (ref: ClusterRef, id: string) =>
    api<{ deleted: string }>('DELETE', path(ref, `silences/${seg(id)}`)),
};

/** The input form of a stored monitor (what PUT wants back). */
export function toInput(m: Monitor): MonitorInput {
  // A listed monitor also carries its counts and state time, which a PUT refuses (the schema is strict).
  const { id: _id, ...rest } = m as Monitor & { alerts?: unknown; lastTransitionAt?: unknown };
  delete (rest as { alerts?: unknown }).alerts;
  delete (rest as { lastTransitionAt?: unknown }).lastTransitionAt;
  return rest;
}

/** A silence is active at `now` between its start and end. */
export const silenceActive = (s: Silence, now: number) => s.startsAt <= now && now < s.endsAt;

/** The active silence that mutes a whole monitor (its only matcher is the monitor's label), if any. */
export function monitorMute(silences: Silence[], monitorId: string, now: number): Silence | undefined {
  return silences.find(
    (s) =>
      silenceActive(s, now) &&
      Object.keys(s.matchers).length === 1 &&
      s.matchers[MONITOR_LABEL] === monitorId,
  );
}

export type MonitorState = 'firing' | 'pending' | 'ok' | 'disabled';
export function monitorState(m: MonitorWithCounts): MonitorState {
  if (!m.enabled) return 'disabled';
  if (m.alerts.firing > 0) return 'firing';
  if (m.alerts.pending > 0) return 'pending';
  return 'ok';
}

/** "error rate > 0.05" style summary of a condition. */
export function conditionSummary(c: Monitor['condition']): string {
  if (c.type === 'promql') return `${c.query} ${c.op} ${c.threshold}`;
  const what = c.aggregate === 'count' ? `count(${c.source})` : `${c.aggregate}(${c.source} duration ms)`;
  const where = c.filter ? ` where ${c.filter}` : '';
  const by = c.groupBy ? ` by ${c.groupBy}` : '';
  return `${what}${where}${by} over ${formatSeconds(c.windowSeconds)} ${c.op} ${c.threshold}`;
}

export function formatSeconds(s: number): string {
  if (s === 0) return '0s';
  if (s % 86_400 === 0) return `${s / 86_400}d`;
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

/** "5m", "90s", "1h", "2d" or plain seconds -> seconds; null when not a duration. */
export function parseSeconds(text: string): number | null {
  const m = /^\s*(\d+)\s*([smhd]?)\s*$/.exec(text);
  if (!m) return null;
  const mult = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * mult;
}
