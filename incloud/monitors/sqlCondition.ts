import { conditionHolds, type MonitorSpec, type SqlSource } from '../../lib/tunnel/monitors.ts';
import type { ClickhouseReader } from '../portal/clickhouseReader.ts';
import { compileLogFilter } from '../portal/logs/compile.ts';
import { type LogQuery, type LogTerm, parseLogQuery } from '../portal/logs/queryLanguage.ts';

type SqlConditionSpec = Extract<MonitorSpec['condition'], { type: 'sql' }>;

/** Groups one evaluation may return; more are cut (LIMIT) so a high-cardinality groupBy stays bounded. */
export const MAX_GROUPS = 100;

export interface CompiledCondition {
  sql: string;
  params: Record<string, unknown>;
}

/** Column expressions per source. Only these constants ever become SQL text. */
interface SourceColumns {
  table: string;
  /** Free text and `body:` terms match here (case-insensitive substring). */
  text: string;
  fields: Partial<Record<string, string>>;
  /** Lower-cased before comparing (values are lower-cased too). */
  folded: ReadonlySet<string>;
  /** `attr.<key>` map (traces) or a fixed key -> column table (events). */
  attr: { map: string } | { columns: Record<string, string> };
  resource: string | null;
  timeFilter: string;
  groups: Record<string, string>;
}

const K8S = (map: string) => ({
  namespace: `${map}['k8s.namespace.name']`,
  pod: `${map}['k8s.pod.name']`,
  container: `${map}['k8s.container.name']`,
  node: `${map}['k8s.node.name']`,
  host: `${map}['host.name']`,
});

const SOURCES: Record<Exclude<SqlSource, 'logs'>, SourceColumns> = {
  traces: {
    table: 'otel_traces',
    text: 'SpanName',
    fields: {
      service: 'ServiceName',
      // `severity:error` is the span status: STATUS_CODE_ERROR and Error both become "error".
      severity: "replaceOne(StatusCode, 'STATUS_CODE_', '')",
      trace_id: 'TraceId',
      span_id: 'SpanId',
      scope: 'ScopeName',
      ...K8S('ResourceAttributes'),
    },
    folded: new Set(['severity', 'trace_id', 'span_id']),
    attr: { map: 'SpanAttributes' },
    resource: 'ResourceAttributes',
    timeFilter:
      'Timestamp >= fromUnixTimestamp64Milli({startMs:Int64}) AND Timestamp < fromUnixTimestamp64Milli({endMs:Int64})',
    groups: {
      service: 'ServiceName',
      name: 'SpanName',
      namespace: "ResourceAttributes['k8s.namespace.name']",
      pod: "ResourceAttributes['k8s.pod.name']",
      status: "lower(replaceOne(StatusCode, 'STATUS_CODE_', ''))",
    },
  },
  events: {
    table: 'k8s_events FINAL',
    text: 'Message',
    fields: { namespace: 'Namespace', severity: 'Type', service: 'Workload', pod: 'InvolvedObjectName' },
    folded: new Set(['severity']),
    attr: {
      columns: {
        reason: 'Reason',
        kind: 'InvolvedObjectKind',
        name: 'InvolvedObjectName',
        type: 'Type',
        source: 'SourceComponent',
        host: 'SourceHost',
      },
    },
    resource: null,
    // An event counts in the window it was last seen in (Count grows in place, LastTimestamp moves).
    timeFilter:
      'LastTimestamp >= fromUnixTimestamp64Milli({startMs:Int64}) AND LastTimestamp < fromUnixTimestamp64Milli({endMs:Int64})',
    groups: {
      namespace: 'Namespace',
      kind: 'InvolvedObjectKind',
      name: 'InvolvedObjectName',
      reason: 'Reason',
      workload: 'Workload',
      type: 'Type',
    },
  },
};

const LOG_GROUPS: Record<string, string> = {
  service: 'ServiceName',
  severity: 'SeverityText',
  ...K8S('ResourceAttributes'),
};

export class SqlConditionError extends Error {}

/**
 * Compiles a SQL monitor's structured condition to ONE parameterized SELECT returning `g` (the group, '' when
 * not grouped) and `v` (the aggregate) for the window [at - window, at). The filter is parsed by the portal's
 * logs query language; for logs it compiles exactly as a logs search does (portal/logs/compile.ts); traces and
 * events map the same terms to their own columns. User values are always bound parameters; column expressions
 * come only from constant tables. Run it through ClickhouseReader, which adds the read-only bounds.
 */
export function compileCondition(c: SqlConditionSpec, at: number): CompiledCondition {
  let query: LogQuery;
  try {
    query = parseLogQuery(c.filter);
  } catch (err) {
    throw new SqlConditionError((err as Error).message);
  }
  const window = { startMs: at - c.windowSeconds * 1000, endMs: at };
  let table: string;
  let where: string;
  let params: Record<string, unknown>;
  let group: string | undefined;
  if (c.source === 'logs') {
    const f = compileLogFilter(query, window);
    table = 'otel_logs';
    where = f.where;
    params = f.params;
    group = c.groupBy === undefined ? undefined : LOG_GROUPS[c.groupBy];
  } else {
    const src = SOURCES[c.source];
    params = { ...window };
    const conds = [src.timeFilter, ...query.terms.map((t, i) => compileTerm(src, t, i, params, c.source))];
    table = src.table;
    where = conds.join('\n  AND ');
    group = c.groupBy === undefined ? undefined : src.groups[c.groupBy];
  }
  if (c.groupBy !== undefined && group === undefined)
    throw new SqlConditionError(`cannot group ${c.source} by ${c.groupBy}`);
  const aggregate =
    c.aggregate === 'count'
      ? 'toFloat64(count())'
      : c.aggregate === 'avg'
        ? 'avg(Duration) / 1e6'
        : 'quantile(0.99)(Duration) / 1e6';
  const g = group ?? "''";
  return {
    sql: `SELECT toString(${g}) AS g, ${aggregate} AS v
FROM ${table}
WHERE ${where}
GROUP BY g
ORDER BY v DESC
LIMIT ${MAX_GROUPS}`,
    params,
  };
}

/** One group's value in an evaluation, and whether the condition holds for it. */
export interface GroupValue {
  group: string;
  value: number;
  holds: boolean;
}

/** A SQL monitor's query deadline: its interval (one evaluation must end before the next), at most 30 s. */
export function sqlTimeoutMs(intervalSeconds: number): number {
  return Math.min(intervalSeconds * 1000, 30_000);
}

/**
 * ONE evaluation of a SQL condition at `at`, through the reader (read-only and bounded): every group's value,
 * highest first, at most MAX_GROUPS. Without `groupBy`, no matching rows is one value of 0 (so `count < 1` can
 * alert on silence). The evaluator runs it on schedule; the portal's dry run (`monitors.dryRun`) runs it once
 * for the editor, so both see the same values and the same errors (`sqlEvaluationError`).
 */
export async function runSqlCondition(
  reader: ClickhouseReader,
  c: SqlConditionSpec,
  at: number,
  ctx: { timeoutMs: number; signal?: AbortSignal },
): Promise<GroupValue[]> {
  const { sql, params } = compileCondition(c, at);
  let rows = await reader.select<{ g: string; v: number }>(sql, params, ctx);
  if (rows.length === 0 && c.groupBy === undefined) rows = [{ g: '', v: 0 }];
  return rows.map((r) => {
    const value = Number(r.v);
    return { group: String(r.g), value, holds: conditionHolds(value, c.op, c.threshold) };
  });
}

/** What the evaluator logs, and the dry run answers, when a SQL condition cannot be evaluated. */
export function sqlEvaluationError(err: unknown): string {
  return `cannot evaluate SQL condition: ${err instanceof Error ? err.message : String(err)}`;
}

function compileTerm(
  src: SourceColumns,
  term: LogTerm,
  i: number,
  params: Record<string, unknown>,
  source: string,
): string {
  const p = `p${i}`;
  const k = `k${i}`;
  let cond: string;
  if (term.type === 'text' || term.field === 'body') {
    params[p] = term.value;
    cond =
      term.type === 'field' && term.match === 'prefix'
        ? `startsWith(${src.text}, {${p}:String})`
        : `positionCaseInsensitiveUTF8(${src.text}, {${p}:String}) > 0`;
  } else {
    let column: string | undefined;
    if (term.field === 'attr' || term.field === 'resource') {
      const key = term.key ?? '';
      const map = term.field === 'resource' ? src.resource : 'map' in src.attr ? src.attr.map : null;
      if (map) {
        params[k] = key;
        if (term.match === 'exists') return wrap(term, `mapContains(${map}, {${k}:String})`);
        column = `${map}[{${k}:String}]`;
      } else if (term.field === 'attr' && 'columns' in src.attr) {
        column = src.attr.columns[key];
        if (column && term.match === 'exists') return wrap(term, `${column} != ''`);
      }
      if (!column) throw new SqlConditionError(`cannot filter ${source} by ${term.field}.${key}`);
    } else {
      column = src.fields[term.field];
      if (!column) throw new SqlConditionError(`cannot filter ${source} by ${term.field}`);
    }
    const folded = src.folded.has(term.field);
    const expr = folded ? `lower(${column})` : column;
    params[p] = folded ? term.value.toLowerCase() : term.value;
    cond = term.match === 'prefix' ? `startsWith(${expr}, {${p}:String})` : `${expr} = {${p}:String}`;
  }
  return wrap(term, cond);
}

function wrap(term: LogTerm, cond: string): string {
  return term.negated ? `NOT (${cond})` : cond;
}
