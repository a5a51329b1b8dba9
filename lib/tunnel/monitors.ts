/**
 * Monitors, alerts, notification targets and silences: the definitions the edge and the portal exchange, and the
 * params of the tunnel request kinds that manage them (merged into QUERY_PARAMS in queries.ts). Definitions live
 * in the cluster (ClickHouse `monitor_config`), next to the data they watch; the edge only forwards them after
 * checking the caller's role. Evaluation happens in the cluster (incloud/monitors/README.md).
 */
import { z } from 'zod';

export const MONITOR_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const id = z.string().regex(MONITOR_ID, 'must be 1-64 of a-z 0-9 _ - (starting with a letter or digit)');
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** Set by the evaluator itself; a user label may not override them. */
export const RESERVED_LABELS = ['understory_monitor', 'alertname', 'alertgroup', 'severity'] as const;

/** `{{` would be expanded by vmalert's Go templates; labels are plain values. */
const labelValue = z
  .string()
  .max(256)
  .refine((v) => !v.includes('{{'), 'must not contain {{');

export const COMPARISONS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type Comparison = (typeof COMPARISONS)[number];

/** Whether `value <op> threshold` holds: the alert condition, the same in the evaluator and the UI's previews. */
export function conditionHolds(value: number, op: Comparison, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}
export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export const SQL_SOURCES = ['logs', 'traces', 'events'] as const;
export type SqlSource = (typeof SQL_SOURCES)[number];
export const SQL_AGGREGATES = ['count', 'avg', 'p99'] as const;

/** Fields a SQL monitor may group by, per source (incloud/monitors/sqlCondition.ts maps them to columns). */
export const SQL_GROUP_FIELDS = {
  logs: ['service', 'severity', 'namespace', 'pod', 'container', 'node', 'host'],
  traces: ['service', 'name', 'namespace', 'pod', 'status'],
  events: ['namespace', 'kind', 'name', 'reason', 'workload', 'type'],
} as const satisfies Record<SqlSource, readonly string[]>;

const threshold = z.number().finite();

export const promqlCondition = z.strictObject({
  type: z.literal('promql'),
  /** Any PromQL/MetricsQL expression; the alert is `(query) <op> <threshold>` per resulting series. */
  query: z.string().min(1).max(4000),
  op: z.enum(COMPARISONS),
  threshold,
});

export const sqlCondition = z
  .strictObject({
    type: z.literal('sql'),
    source: z.enum(SQL_SOURCES),
    /** The logs query language (incloud/portal/README.md); fields are mapped per source. */
    filter: z.string().max(2000).default(''),
    /** `avg` and `p99` are of span durations in milliseconds (traces only). */
    aggregate: z.enum(SQL_AGGREGATES).default('count'),
    /** Rows in the last `windowSeconds` before each evaluation. */
    windowSeconds: z.number().int().min(1).max(86_400),
    groupBy: z.string().max(32).optional(),
    op: z.enum(COMPARISONS),
    threshold,
  })
  .superRefine((c, ctx) => {
    if (c.aggregate !== 'count' && c.source !== 'traces')
      ctx.addIssue({ code: 'custom', path: ['aggregate'], message: `${c.aggregate} needs source traces` });
    const groups = SQL_GROUP_FIELDS[c.source] as readonly string[];
    if (c.groupBy !== undefined && !groups.includes(c.groupBy))
      ctx.addIssue({
        code: 'custom',
        path: ['groupBy'],
        message: `must be one of ${groups.join(', ')} for ${c.source}`,
      });
  });

export const monitorInput = z.strictObject({
  /** Chosen by the portal when absent. */
  id: id.optional(),
  name: z.string().min(1).max(200),
  enabled: z.boolean().default(true),
  severity: z.enum(SEVERITIES).default('warning'),
  condition: z.discriminatedUnion('type', [promqlCondition, sqlCondition]),
  /** How often the condition is evaluated. */
  intervalSeconds: z.number().int().min(1).max(3600).default(60),
  /** How long the condition must hold before the alert fires (pending until then). */
  forSeconds: z.number().int().min(0).max(86_400).default(0),
  labels: z
    .record(z.string().regex(LABEL_NAME, 'label names are [A-Za-z_][A-Za-z0-9_]*'), labelValue)
    .refine((l) => Object.keys(l).length <= 20, 'at most 20 labels')
    .refine((l) => !RESERVED_LABELS.some((r) => r in l), `labels ${RESERVED_LABELS.join(', ')} are reserved`)
    .default({}),
  /**
   * Notification text. Placeholders: {{monitor}} {{severity}} {{state}} {{value}} {{threshold}} {{labels.NAME}}.
   * Rendered by the evaluator (never by vmalert), so nothing in it is executed.
   */
  message: z
    .string()
    .max(2000)
    .default('{{monitor}} is {{state}}: value {{value}} (threshold {{threshold}})'),
  /** Notification target ids; none: the alert is recorded but nobody is told. */
  targets: z.array(id).max(10).default([]),
});
export type MonitorInput = z.input<typeof monitorInput>;
export type MonitorSpec = z.output<typeof monitorInput> & { id: string };

export const targetInput = z.strictObject({
  id: id.optional(),
  name: z.string().min(1).max(200),
  /** `webhook`: the generic JSON payload; `slack`: Slack's incoming-webhook payload (`text` + `blocks`). */
  type: z.enum(['webhook', 'slack']),
  /** Secret: write-only, never returned by any API. */
  url: z
    .string()
    .max(2000)
    .url()
    .refine((u) => /^https?:\/\//i.test(u), 'must be http(s)'),
  /** Secret: e.g. an Authorization header for the receiver. Write-only. */
  headers: z
    .record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/), z.string().max(4096))
    .refine((h) => Object.keys(h).length <= 10, 'at most 10 headers')
    .default({}),
});
export type TargetSpec = z.output<typeof targetInput> & { id: string };
/** What an API shows of a target: never the URL or header values. */
export interface TargetView {
  id: string;
  name: string;
  type: 'webhook' | 'slack';
  host: string;
  headerNames: string[];
}

export const silenceInput = z
  .strictObject({
    id: id.optional(),
    /** Every matcher must equal the alert's label (`understory_monitor` selects one monitor). */
    matchers: z
      .record(z.string().regex(LABEL_NAME), z.string().max(256))
      .refine((m) => Object.keys(m).length >= 1 && Object.keys(m).length <= 20, '1-20 matchers'),
    startsAt: z.number().int().min(0),
    endsAt: z.number().int().min(0),
    comment: z.string().max(1000).default(''),
    createdBy: z.string().max(256).default(''),
  })
  .refine((s) => s.endsAt > s.startsAt, { message: 'endsAt must be after startsAt', path: ['endsAt'] });
export type SilenceSpec = z.output<typeof silenceInput> & { id: string };

export const ALERT_STATES = ['pending', 'firing', 'resolved'] as const;
export type AlertState = (typeof ALERT_STATES)[number];

const epochMs = z.number().int().min(0).max(4_102_444_800_000);
const none = z.strictObject({});
const byId = z.strictObject({ id });

/** Request kind -> params, for the monitor kinds (merged into QUERY_PARAMS). */
export const MONITOR_QUERY_PARAMS = {
  'monitors.list': none,
  'monitors.get': byId,
  'monitors.put': z.strictObject({ monitor: monitorInput }),
  'monitors.delete': byId,
  /**
   * Runs a SQL condition once, now, as the evaluator would (read-only, bounded), without storing anything:
   * the editor's dry run before saving. `intervalSeconds` sets the deadline as it would for the monitor.
   */
  'monitors.dryRun': z.strictObject({
    condition: sqlCondition,
    intervalSeconds: z.number().int().min(1).max(3600).default(60),
  }),
  'monitors.templates': none,
  'monitors.fromTemplate': z.strictObject({
    template: z.string().max(64),
    params: z.record(z.string().max(64), z.string().max(256)).default({}),
    targets: z.array(id).max(10).default([]),
  }),
  'alerts.list': none,
  'alerts.history': z
    .strictObject({
      start: epochMs,
      end: epochMs,
      monitorId: id.optional(),
      limit: z.number().int().min(1).max(1000).default(100),
    })
    .refine((p) => p.end > p.start, { message: 'end must be after start', path: ['end'] }),
  'targets.list': none,
  'targets.put': z.strictObject({ target: targetInput }),
  'targets.delete': byId,
  /** One test notification to a target (editor); `requestedBy` is set by the edge to the caller. */
  'targets.test': z.strictObject({ id, requestedBy: z.string().max(256).default('') }),
  'silences.list': none,
  'silences.put': z.strictObject({ silence: silenceInput }),
  'silences.delete': byId,
} as const;

/** One alert instance as the APIs show it. Times are epoch milliseconds. */
export interface AlertView {
  monitorId: string;
  fingerprint: string;
  state: 'pending' | 'firing';
  labels: Record<string, string>;
  value: number;
  activeSince: number;
  firingSince: number | null;
}

/** What `monitors.dryRun` answers: the values one evaluation yields now, highest first. */
export interface SqlDryRunResult {
  /** The evaluation time (epoch ms): the window is [at - windowSeconds, at). */
  at: number;
  windowSeconds: number;
  /** One per group (`group` '' when not grouped), at most 100. */
  groups: { group: string; value: number; holds: boolean }[];
  /** Whether any group's value meets the condition: the alert would fire (after `for`, pending until then). */
  holds: boolean;
  /** 100 groups came back: more may exist (the evaluator cuts there too). */
  truncated: boolean;
  durationMs: number;
}

/** What `targets.test` answers: the receiver's status, or why there was none. Never its body. */
export interface TestNotificationResult {
  /** The receiver answered 2xx. */
  delivered: boolean;
  /** Its HTTP status; null when it never answered (network error, timeout). */
  status: number | null;
  /** `HTTP 404 Not Found`, `no answer within 10000 ms`, `fetch failed: connect ECONNREFUSED ...`; null when delivered. */
  error: string | null;
  /** Also in the payload and the `X-Understory-Notification-Id` header, to find it at the receiver. */
  notificationId: string;
  durationMs: number;
}

export interface AlertHistoryRow {
  timestamp: number;
  monitorId: string;
  monitorName: string;
  fingerprint: string;
  state: AlertState;
  previous: string;
  severity: string;
  labels: Record<string, string>;
  value: number;
  message: string;
  notified: string;
}
