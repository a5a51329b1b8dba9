/**
 * Log lines: time, severity (coloured), service and body, the words searched for highlighted. A line opens
 * in place to show its fields (each can be added to the query as a filter, or excluded), a link to its trace,
 * and its context: the lines just before and after it from the same pod (or service).
 */
import { Fragment, type ReactNode, useState } from 'react';
import type { ClusterRef } from '../../clusterApi.ts';
import { linkClick, withSharedParams } from '../../router.ts';
import { ErrorNote, Spinner } from '../../ui.tsx';
import { useAction } from '../../useAction.ts';
import { formatTimestamp, nsToMs, serviceColor } from '../traces/format.ts';
import { contextOf, type LogRow, lineKey, severityLevel } from './logsApi.ts';

export type FilterAction = (field: string, value: string, negated: boolean) => void;

export function LogList({
  rows,
  cluster,
  orgSlug,
  highlight,
  onFilter,
  label,
}: {
  rows: LogRow[];
  cluster: ClusterRef;
  orgSlug: string;
  /** Free-text terms of the query, highlighted in bodies. */
  highlight: string[];
  onFilter: FilterAction;
  label: string;
}) {
  const [open, setOpen] = useState<Set<string>>(() => new Set());
  const toggle = (k: string) =>
    setOpen((o) => {
      const n = new Set(o);
      if (!n.delete(k)) n.add(k);
      return n;
    });
  return (
    <ul className="log-list card" aria-label={label}>
      {rows.map((r) => {
        const k = lineKey(r);
        const expanded = open.has(k);
        return (
          <li key={k} className={`log-item sev-${severityLevel(r.severity)}${expanded ? ' open' : ''}`}>
            <LogLine row={r} highlight={highlight} expanded={expanded} onToggle={() => toggle(k)} />
            {expanded ? <LogDetail row={r} cluster={cluster} orgSlug={orgSlug} onFilter={onFilter} /> : null}
          </li>
        );
      })}
    </ul>
  );
}

function LogLine({
  row,
  highlight,
  expanded,
  onToggle,
  hit,
}: {
  row: LogRow;
  highlight: string[];
  expanded?: boolean;
  onToggle?: () => void;
  hit?: boolean;
}) {
  const level = severityLevel(row.severity);
  const content = (
    <>
      <span className="log-time mono">{formatTimestamp(nsToMs(row.timestamp))}</span>
      <span className={`sev-badge sev-${level}`}>{row.severity || '—'}</span>
      <span className="log-svc" style={{ color: serviceColor(row.service) }} title={row.service}>
        {row.service || 'unknown'}
      </span>
      <span className="log-body mono">{highlightText(row.body, highlight)}</span>
    </>
  );
  if (!onToggle) return <div className={`log-line static${hit ? ' hit' : ''}`}>{content}</div>;
  return (
    <button type="button" className="log-line" aria-expanded={expanded} onClick={onToggle}>
      {content}
    </button>
  );
}

const FIELD_ROWS: { label: string; field: string; get: (r: LogRow) => string | undefined }[] = [
  { label: 'service', field: 'service', get: (r) => r.service },
  { label: 'severity', field: 'severity', get: (r) => r.severity },
  { label: 'namespace', field: 'namespace', get: (r) => r.resource['k8s.namespace.name'] },
  { label: 'pod', field: 'pod', get: (r) => r.resource['k8s.pod.name'] },
  { label: 'container', field: 'container', get: (r) => r.resource['k8s.container.name'] },
  { label: 'node', field: 'node', get: (r) => r.resource['k8s.node.name'] },
  { label: 'host', field: 'host', get: (r) => r.resource['host.name'] },
];

function LogDetail({
  row,
  cluster,
  orgSlug,
  onFilter,
}: {
  row: LogRow;
  cluster: ClusterRef;
  orgSlug: string;
  onFilter: FilterAction;
}) {
  const [context, setContext] = useState<Awaited<ReturnType<typeof contextOf>> | null>(null);
  const { busy: loading, error, run } = useAction();
  const loadContext = () => run(async () => setContext(await contextOf(cluster, row)));
  const fields: [string, string, string][] = [];
  for (const f of FIELD_ROWS) {
    const v = f.get(row);
    if (v) fields.push([f.label, f.field, v]);
  }
  for (const [k, v] of Object.entries(row.attributes).sort(([a], [b]) => a.localeCompare(b)))
    fields.push([k, `attr.${k}`, v]);
  const shownResource = new Set([
    'k8s.namespace.name',
    'k8s.pod.name',
    'k8s.container.name',
    'k8s.node.name',
    'host.name',
    'service.name',
  ]);
  for (const [k, v] of Object.entries(row.resource).sort(([a], [b]) => a.localeCompare(b)))
    if (!shownResource.has(k)) fields.push([k, `resource.${k}`, v]);
  const traceHref =
    row.traceId && /^[0-9a-f]{32}$/i.test(row.traceId)
      ? withSharedParams(
          `/o/${orgSlug}/traces/${row.traceId.toLowerCase()}${row.spanId ? `?span=${row.spanId.toLowerCase()}` : ''}`,
        )
      : null;
  return (
    <div className="log-detail">
      <pre className="log-fullbody">{row.body}</pre>
      <table className="kv log-fields" aria-label="Fields of the line">
        <tbody>
          {fields.map(([label, field, value]) => (
            <tr key={field}>
              <th scope="row">{label}</th>
              <td>
                <span className="log-field-value">{value}</span>
                <span className="log-field-actions">
                  <button
                    type="button"
                    className="btn btn-ghost btn-xs"
                    title={`Only lines with ${label} ${value}`}
                    aria-label={`Filter for ${label} ${value}`}
                    onClick={() => onFilter(field, value, false)}
                  >
                    +
                  </button>
                  <button
                    type="button"
                    className="btn btn-ghost btn-xs"
                    title={`Hide lines with ${label} ${value}`}
                    aria-label={`Filter out ${label} ${value}`}
                    onClick={() => onFilter(field, value, true)}
                  >
                    −
                  </button>
                </span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="log-detail-actions">
        {traceHref ? (
          <a className="btn btn-secondary btn-sm" href={traceHref} onClick={linkClick}>
            Open trace
          </a>
        ) : null}
        <button
          type="button"
          className="btn btn-secondary btn-sm"
          onClick={() => void loadContext()}
          disabled={loading}
        >
          {context ? 'Reload context' : 'Show context'}
        </button>
      </div>
      <ErrorNote error={error} />
      {loading ? <Spinner label="Loading the lines around it" /> : null}
      {context ? (
        <section className="log-context" aria-label="Lines around this one">
          <div className="log-context-head muted">
            {context.lines.length - 1} lines around it from <span className="mono">{context.scope}</span>
          </div>
          {context.lines.map((r, i) => (
            <Fragment key={lineKey(r)}>
              <LogLine row={r} highlight={[]} hit={i === context.hitIndex} />
            </Fragment>
          ))}
        </section>
      ) : null}
    </div>
  );
}

/** The body with the searched words marked (case-insensitive), as React nodes: no HTML is ever injected. */
function highlightText(body: string, words: string[]): ReactNode {
  const terms = words.filter((w) => w.length > 0);
  if (terms.length === 0) return body;
  const lower = body.toLowerCase();
  const marks: [number, number][] = [];
  for (const t of terms) {
    const lt = t.toLowerCase();
    for (let i = lower.indexOf(lt); i >= 0 && marks.length < 50; i = lower.indexOf(lt, i + lt.length))
      marks.push([i, i + lt.length]);
  }
  if (marks.length === 0) return body;
  marks.sort((a, b) => a[0] - b[0]);
  const out: ReactNode[] = [];
  let at = 0;
  for (const [s, e] of marks) {
    if (s < at) continue;
    out.push(body.slice(at, s), <mark key={s}>{body.slice(s, e)}</mark>);
    at = e;
  }
  out.push(body.slice(at));
  return out;
}

/** Free-text terms of a query (words and phrases, not field terms or negations), for highlighting. */
export function textTerms(query: string): string[] {
  const out: string[] = [];
  const re = /(-?)(?:"((?:[^"\\]|\\.)*)"|(\S+))/g;
  for (let m = re.exec(query); m; m = re.exec(query)) {
    if (m[1]) continue;
    if (m[2] !== undefined) out.push(m[2].replace(/\\(.)/g, '$1'));
    else if (m[3] && !m[3].includes(':')) out.push(m[3]);
  }
  return out;
}
