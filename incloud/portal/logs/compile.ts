import type { LogField, LogQuery, LogTerm } from './queryLanguage.ts';

/**
 * Compiles a parsed logs query to a WHERE clause over `otel_logs` with bound parameters. Column expressions
 * come only from the constant table below; every value and attribute key from the user is a `{pN:String}`
 * parameter. Nothing the user typed is ever part of the SQL text.
 */
const COLUMNS: Record<Exclude<LogField, 'attr' | 'resource'>, string> = {
  service: 'ServiceName',
  severity: 'SeverityText',
  body: 'Body',
  trace_id: 'TraceId',
  span_id: 'SpanId',
  scope: 'ScopeName',
  namespace: "ResourceAttributes['k8s.namespace.name']",
  pod: "ResourceAttributes['k8s.pod.name']",
  container: "ResourceAttributes['k8s.container.name']",
  node: "ResourceAttributes['k8s.node.name']",
  host: "ResourceAttributes['host.name']",
};

export interface CompiledFilter {
  /** `cond AND cond ...`; `1` when there are no terms. */
  where: string;
  params: Record<string, unknown>;
}

export interface TimeWindow {
  startMs: number;
  endMs: number;
}

/** Time bounds use both TimestampTime (partition and primary key pruning) and Timestamp (exact). */
export function compileLogFilter(query: LogQuery, window: TimeWindow): CompiledFilter {
  const params: Record<string, unknown> = { startMs: window.startMs, endMs: window.endMs };
  const conds = [
    'TimestampTime >= toDateTime(intDiv({startMs:Int64}, 1000))',
    'TimestampTime <= toDateTime(intDiv({endMs:Int64}, 1000))',
    'Timestamp >= fromUnixTimestamp64Milli({startMs:Int64})',
    'Timestamp < fromUnixTimestamp64Milli({endMs:Int64})',
  ];
  query.terms.forEach((term, i) => {
    const cond = compileTerm(term, `p${i}`, `k${i}`, params);
    conds.push(term.negated ? `NOT (${cond})` : cond);
  });
  return { where: conds.join('\n  AND '), params };
}

function compileTerm(term: LogTerm, p: string, k: string, params: Record<string, unknown>): string {
  if (term.type === 'text') {
    params[p] = term.value;
    return `positionCaseInsensitiveUTF8(Body, {${p}:String}) > 0`;
  }
  let column: string;
  if (term.field === 'attr' || term.field === 'resource') {
    const map = term.field === 'attr' ? 'LogAttributes' : 'ResourceAttributes';
    params[k] = term.key;
    if (term.match === 'exists') return `mapContains(${map}, {${k}:String})`;
    column = `${map}[{${k}:String}]`;
  } else {
    column = COLUMNS[term.field];
  }
  if (term.field === 'body') {
    params[p] = term.value;
    return term.match === 'prefix'
      ? `startsWith(Body, {${p}:String})`
      : `positionCaseInsensitiveUTF8(Body, {${p}:String}) > 0`;
  }
  // Severity names and ids are matched case-insensitively: collectors differ (ERROR/error, hex case).
  const folded = term.field === 'severity' || term.field === 'trace_id' || term.field === 'span_id';
  const expr = folded ? `lower(${column})` : column;
  params[p] = folded ? term.value.toLowerCase() : term.value;
  return term.match === 'prefix' ? `startsWith(${expr}, {${p}:String})` : `${expr} = {${p}:String}`;
}
