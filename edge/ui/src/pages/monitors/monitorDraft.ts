/**
 * The editor's form state and its conversion to and from the API's monitor input. Numbers and durations are
 * kept as the text the user typed until saving, so a half-typed value is not rewritten under the cursor;
 * `draftToInput` checks them with messages that name the field (the API checks again).
 */
import {
  type Comparison,
  formatSeconds,
  type Monitor,
  type MonitorInput,
  parseSeconds,
  type Severity,
  SQL_GROUP_FIELDS,
  type SqlCondition,
  type SqlSource,
} from './monitorsApi.ts';

export interface Draft {
  name: string;
  severity: Severity;
  enabled: boolean;
  type: 'promql' | 'sql';
  query: string;
  op: Comparison;
  threshold: string;
  source: SqlSource;
  filter: string;
  aggregate: 'count' | 'avg' | 'p99';
  window: string;
  groupBy: string;
  interval: string;
  forDuration: string;
  labels: { key: string; value: string }[];
  message: string;
  targets: string[];
}

export const DEFAULT_MESSAGE = '{{monitor}} is {{state}}: value {{value}} (threshold {{threshold}})';
export const PLACEHOLDERS = ['{{monitor}}', '{{state}}', '{{value}}', '{{threshold}}', '{{severity}}'];
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const RESERVED = ['understory_monitor', 'alertname', 'alertgroup', 'severity'];

export function emptyDraft(type: 'promql' | 'sql' = 'promql'): Draft {
  return {
    name: '',
    severity: 'warning',
    enabled: true,
    type,
    query: '',
    op: '>',
    threshold: '',
    source: 'logs',
    filter: '',
    aggregate: 'count',
    window: '5m',
    groupBy: '',
    interval: '1m',
    forDuration: '5m',
    labels: [],
    message: DEFAULT_MESSAGE,
    targets: [],
  };
}

export function draftFromMonitor(m: Monitor): Draft {
  const c = m.condition;
  const base = emptyDraft(c.type);
  return {
    ...base,
    name: m.name,
    severity: m.severity,
    enabled: m.enabled,
    op: c.op,
    threshold: String(c.threshold),
    ...(c.type === 'promql'
      ? { query: c.query }
      : {
          source: c.source,
          filter: c.filter,
          aggregate: c.aggregate,
          window: formatSeconds(c.windowSeconds),
          groupBy: c.groupBy ?? '',
        }),
    interval: formatSeconds(m.intervalSeconds),
    forDuration: formatSeconds(m.forSeconds),
    labels: Object.entries(m.labels).map(([key, value]) => ({ key, value })),
    message: m.message,
    targets: m.targets,
  };
}

export type DraftCheck = { input: MonitorInput; problems: [] } | { input: null; problems: string[] };

export function draftToInput(d: Draft): DraftCheck {
  const problems: string[] = [];
  const threshold = Number(d.threshold);
  if (d.threshold.trim() === '' || !Number.isFinite(threshold)) problems.push('Threshold must be a number.');
  const interval = parseSeconds(d.interval);
  if (interval === null || interval < 1 || interval > 3600)
    problems.push('Evaluate every: a duration from 1s to 1h, e.g. 30s or 1m.');
  const forSeconds = parseSeconds(d.forDuration);
  if (forSeconds === null || forSeconds > 86_400) problems.push('For: a duration up to 1d, e.g. 0, 5m.');
  const window = parseSeconds(d.window);
  if (d.type === 'sql' && (window === null || window < 1 || window > 86_400))
    problems.push('Window: a duration from 1s to 1d, e.g. 5m.');
  if (!d.name.trim()) problems.push('Give the monitor a name.');
  if (d.type === 'promql' && !d.query.trim()) problems.push('Write the PromQL query.');
  const labels: Record<string, string> = {};
  for (const { key, value } of d.labels) {
    if (!key && !value) continue;
    if (!LABEL_NAME.test(key)) problems.push(`Label "${key}": names are letters, digits and _.`);
    else if (RESERVED.includes(key)) problems.push(`Label "${key}" is set by Understory itself.`);
    else if (value.includes('{{')) problems.push(`Label "${key}": values are plain text (no {{).`);
    else labels[key] = value;
  }
  if (problems.length > 0) return { input: null, problems };
  const condition: MonitorInput['condition'] =
    d.type === 'promql'
      ? { type: 'promql', query: d.query.trim(), op: d.op, threshold }
      : {
          type: 'sql',
          source: d.source,
          filter: d.filter.trim(),
          aggregate: d.source === 'traces' ? d.aggregate : 'count',
          windowSeconds: window!,
          ...(d.groupBy && (SQL_GROUP_FIELDS[d.source] as string[]).includes(d.groupBy)
            ? { groupBy: d.groupBy }
            : {}),
          op: d.op,
          threshold,
        };
  return {
    input: {
      name: d.name.trim(),
      enabled: d.enabled,
      severity: d.severity,
      condition,
      intervalSeconds: interval!,
      forSeconds: forSeconds!,
      labels,
      message: d.message,
      targets: d.targets,
    },
    problems: [],
  };
}

export type DryRunParams = { condition: SqlCondition; intervalSeconds: number };

/**
 * What the SQL dry run needs from the draft: its condition and interval (the query's deadline), checked like
 * `draftToInput` checks them; the name, labels and the rest do not matter for a dry run.
 */
export function draftToDryRun(
  d: Draft,
): { params: DryRunParams; problems: [] } | { params: null; problems: string[] } {
  const full = draftToInput({ ...d, type: 'sql', name: d.name.trim() || 'dry run', labels: [] });
  if (!full.input) return { params: null, problems: full.problems };
  return {
    params: {
      condition: full.input.condition as SqlCondition,
      intervalSeconds: full.input.intervalSeconds ?? 60,
    },
    problems: [],
  };
}
