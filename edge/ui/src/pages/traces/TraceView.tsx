/**
 * One trace: a summary (root operation, duration, spans, services, errors), the waterfall, and the detail of the
 * selected span beside it. The selected span is the `span` query parameter, so a link opens the same span.
 */
import { useMemo } from 'react';
import { DataError } from '../../DataPage.tsx';
import { linkClick, setSearchParams, useSearch, withSharedParams } from '../../router.ts';
import { EmptyState, Spinner } from '../../ui.tsx';
import { useLoad } from '../../useLoad.ts';
import { formatDuration, formatTimestamp, serviceColor } from './format.ts';
import { SpanDetail } from './SpanDetail.tsx';
import { lastSearchUrl } from './searchState.ts';
import { getTrace } from './tracesApi.ts';
import { buildTraceTree } from './traceTree.ts';
import { Waterfall } from './Waterfall.tsx';

export function TraceView({
  orgId,
  orgSlug,
  clusterId,
  traceId,
}: {
  orgId: string;
  orgSlug: string;
  clusterId: string;
  traceId: string;
}) {
  const search = useSearch();
  const selected = new URLSearchParams(search).get('span');
  const valid = /^[0-9a-f]{32}$/i.test(traceId);
  const { data, error, loading, reload } = useLoad(
    () => (valid ? getTrace(orgId, clusterId, traceId) : Promise.resolve(null)),
    `${clusterId}/${traceId}`,
  );
  const tree = useMemo(() => (data ? buildTraceTree(data.spans) : null), [data]);
  const root = tree?.roots[0];
  const selectedNode = selected && tree ? tree.byId.get(selected) : undefined;
  const back = lastSearchUrl() ?? withSharedParams(`/o/${orgSlug}/traces`, search);
  const select = (spanId: string | null) => setSearchParams({ span: spanId }, true);

  return (
    <div className="trace-view">
      <nav className="crumbs" aria-label="Breadcrumb">
        <a href={back} onClick={linkClick}>
          ← Traces
        </a>
        <span className="mono muted">{traceId}</span>
      </nav>
      {!valid ? (
        <EmptyState icon="?" title="Not a trace id">
          Trace ids are 32 hexadecimal digits.
        </EmptyState>
      ) : null}
      <DataError error={error} onRetry={() => void reload()} />
      {loading && !data ? <Spinner label="Loading trace" /> : null}
      {tree && root ? (
        <>
          <header className="trace-summary card">
            <div className="ts-main">
              <span className="svc-swatch lg" style={{ background: serviceColor(root.span.service) }} />
              <div>
                <h2 className="ts-title">
                  <span style={{ color: serviceColor(root.span.service) }}>{root.span.service}</span>{' '}
                  {root.span.name}
                </h2>
                <div className="muted">{formatTimestamp(tree.startMs)}</div>
              </div>
            </div>
            <div className="ts-side">
              <dl className="ts-stats">
                <div>
                  <dt>Duration</dt>
                  <dd>{formatDuration(tree.durationMs * 1e6)}</dd>
                </div>
                <div>
                  <dt>Spans</dt>
                  <dd>{tree.byId.size}</dd>
                </div>
                <div>
                  <dt>Services</dt>
                  <dd>{tree.services.length}</dd>
                </div>
                <div>
                  <dt>Errors</dt>
                  <dd className={tree.errorCount > 0 ? 'text-danger' : undefined}>{tree.errorCount}</dd>
                </div>
              </dl>
              <a
                className="btn btn-secondary btn-sm"
                href={withSharedParams(
                  `/o/${orgSlug}/logs?q=${encodeURIComponent(`trace_id:${traceId.toLowerCase()}`)}`,
                  search,
                )}
                onClick={linkClick}
              >
                Logs of this trace
              </a>
            </div>
            <ul className="ts-legend" aria-label="Services">
              {tree.services.map((s) => (
                <li key={s}>
                  <span className="svc-swatch" style={{ background: serviceColor(s) }} aria-hidden="true" />
                  {s || 'unknown'}
                </li>
              ))}
            </ul>
          </header>
          <div className={`trace-split${selectedNode ? ' with-detail' : ''}`}>
            <Waterfall tree={tree} selected={selectedNode ? selected : null} onSelect={select} />
            {selectedNode ? (
              <SpanDetail
                orgId={orgId}
                orgSlug={orgSlug}
                clusterId={clusterId}
                node={selectedNode}
                traceDurationMs={tree.durationMs}
                onClose={() => {
                  select(null);
                  document
                    .querySelector<HTMLElement>(`[data-span-id="${selectedNode.span.spanId}"]`)
                    ?.focus();
                }}
              />
            ) : null}
          </div>
          <p className="muted hint">
            Keys: ↑ ↓ move, → ← expand and collapse, Enter opens a span, Esc closes it. Click a row for its
            headers and bodies.
          </p>
        </>
      ) : null}
    </div>
  );
}
