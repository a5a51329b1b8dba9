/**
 * The Logs page: the query (URL `q`) over the shared time range, a histogram of matching lines over time
 * (drag across it to zoom the range), the newest matching lines, and live tail (polls for new lines while on).
 */
import { useMemo, useState } from 'react';
import { TimeSeriesChart } from '../../charts/TimeSeriesChart.tsx';
import type { ClusterRef } from '../../clusterApi.ts';
import { type DataContext, DataError, DataPage } from '../../DataPage.tsx';
import { setSearchParams, useSearch } from '../../router.ts';
import type { PageProps } from '../../Shell.tsx';
import { useTimeRange } from '../../timeRange.ts';
import { EmptyState, relativeTime, Spinner } from '../../ui.tsx';
import { useLoad } from '../../useLoad.ts';
import { LogList, textTerms } from './LogList.tsx';
import { LogQueryInput } from './LogQueryInput.tsx';
import { searchLogs } from './logsApi.ts';
import { type KnownValues, learnValues, withTerm } from './querySuggest.ts';
import { TAIL_MAX_LINES, useLiveTail } from './useLiveTail.ts';
import './logs.css';

/** Lines shown per search (URL `lines`); the histogram counts all of them. The portal caps at 1000. */
export const PAGE_LINES = [200, 500, 1000] as const;
const BUCKETS = 90;
/** Lines read once per cluster and range to learn field values for the suggestions. */
const SAMPLE_LINES = 1000;

/** Field values seen per cluster, for suggestions (kept while the page is open). */
const knownByCluster = new Map<string, KnownValues>();

export function LogsPage({ org }: PageProps) {
  return <DataPage org={org}>{(ctx) => <LogsExplorer ctx={ctx} orgSlug={org.slug} />}</DataPage>;
}

function LogsExplorer({ ctx, orgSlug }: { ctx: DataContext; orgSlug: string }) {
  const search = useSearch();
  const params = new URLSearchParams(search);
  const query = params.get('q') ?? '';
  const wanted = Number(params.get('lines'));
  const pageLines = (PAGE_LINES as readonly number[]).includes(wanted) ? wanted : PAGE_LINES[0];
  const [draft, setDraft] = useState(query);
  const [draftFor, setDraftFor] = useState(query);
  if (draftFor !== query) {
    // The URL changed (back button, a filter button): the box follows it.
    setDraftFor(query);
    setDraft(query);
  }
  const [tailing, setTailing] = useState(false);
  const [tailPaused, setTailPaused] = useState(false);
  const { setAbsolute } = useTimeRange();
  const { range, ref } = ctx;
  const { data, error, loading, reload } = useLoad(
    () => searchLogs(ref, { start: range.start, end: range.end, query, limit: pageLines, buckets: BUCKETS }),
    `${ref.clusterId}|${range.key}|${query}|${pageLines}`,
  );
  const tail = useLiveTail(ref, query, tailing && !tailPaused);
  const known = knownByCluster.get(ref.clusterId) ?? new Map();
  knownByCluster.set(ref.clusterId, known);
  if (data) learnValues(known, data.rows);
  // The first time the box is used for a cluster and range, a sample of the newest lines of the whole range
  // (not only of the current query) feeds the suggestions. The portal has no "values of a field" query.
  const [sampledFor, setSampledFor] = useState<string | null>(null);
  const [, setLearned] = useState(0);
  const sample = () => {
    const key = `${ref.clusterId}|${range.key}`;
    if (sampledFor === key) return;
    setSampledFor(key);
    searchLogs(ref, { start: range.start, end: range.end, query: '', limit: SAMPLE_LINES, buckets: 1 })
      .then((a) => {
        learnValues(known, a.rows);
        setLearned((n) => n + 1);
      })
      .catch(() => {
        // Suggestions are a help only: the search itself reports errors.
      });
  };
  if (tail.lines.length > 0) learnValues(known, tail.lines.slice(0, 50));

  const run = (q: string) => setSearchParams({ q: q.trim() || null });
  const filter = (field: string, value: string, negated: boolean) =>
    run(withTerm(query, field, value, negated));
  const highlight = useMemo(() => textTerms(query), [query]);
  const timestamps = useMemo(() => data?.histogram.map((b) => b.start) ?? [], [data]);
  const series = useMemo(
    () => [
      {
        label: 'Lines',
        values: data?.histogram.map((b) => (data.total > 0 ? b.count : null)) ?? [],
        color: '#3a7bd5',
      },
    ],
    [data],
  );
  const badQuery = error && (error as { status?: number }).status === 400 ? error : null;

  return (
    <div className="logs-page">
      <LogQueryInput
        value={draft}
        onChange={setDraft}
        onSubmit={run}
        onFocus={sample}
        known={known}
        busy={loading && !tailing}
      />
      {badQuery ? (
        <div className="alert alert-error" role="alert">
          {(badQuery as Error).message}
        </div>
      ) : null}
      <div className="logs-bar">
        <div className="logs-count" aria-live="polite">
          {tailing ? (
            <TailStatus
              paused={tailPaused}
              lines={tail.lines.length}
              dropped={tail.dropped}
              lastPollAt={tail.lastPollAt}
            />
          ) : data ? (
            <>
              <span className="strong">{data.total.toLocaleString('en')}</span> matching lines
              {data.total > data.rows.length ? (
                <span className="muted"> · showing the newest {data.rows.length}</span>
              ) : null}
            </>
          ) : null}
        </div>
        <div className="logs-actions">
          {!tailing ? (
            <label className="lines-select">
              <span className="muted">Show</span>
              <select
                aria-label="Lines to show"
                value={pageLines}
                onChange={(e) =>
                  setSearchParams(
                    { lines: e.target.value === String(PAGE_LINES[0]) ? null : e.target.value },
                    true,
                  )
                }
              >
                {PAGE_LINES.map((n) => (
                  <option key={n} value={n}>
                    {n} lines
                  </option>
                ))}
              </select>
            </label>
          ) : null}
          {tailing ? (
            <>
              <button
                type="button"
                className="btn btn-secondary btn-sm"
                onClick={() => setTailPaused(!tailPaused)}
              >
                {tailPaused ? 'Resume' : 'Pause'}
              </button>
              <button
                type="button"
                className="btn btn-ghost btn-sm"
                onClick={() => {
                  setTailing(false);
                  setTailPaused(false);
                  tail.clear();
                }}
              >
                Stop live tail
              </button>
            </>
          ) : (
            <button
              type="button"
              className="btn btn-secondary btn-sm live-btn"
              onClick={() => setTailing(true)}
            >
              <span className="live-dot" aria-hidden="true" /> Live tail
            </button>
          )}
        </div>
      </div>
      {!tailing ? (
        <div className="card logs-hist">
          <TimeSeriesChart
            title="Matching lines over time"
            timestamps={timestamps}
            series={series}
            kind="bars"
            height={150}
            range={range}
            loading={loading}
            error={badQuery ? null : error}
            emptyText="No matching lines in this time range."
            onSelectRange={setAbsolute}
            legend={false}
          />
          <p className="muted logs-hist-hint">Drag across the chart to zoom into a time range.</p>
        </div>
      ) : null}
      {tailing ? (
        <TailView tail={tail} cluster={ref} orgSlug={orgSlug} highlight={highlight} onFilter={filter} />
      ) : (
        <>
          {!badQuery ? <DataError error={error} onRetry={() => void reload()} /> : null}
          {loading && !data ? <Spinner label="Searching logs" /> : null}
          {data && data.rows.length === 0 ? (
            <EmptyState icon="¶" title="No matching lines">
              <p>
                {query
                  ? 'Nothing matched the query in this time range. Widen the range or remove a term.'
                  : 'No logs arrived in this time range.'}
              </p>
              <p className="muted">
                The sensor collects container logs on every node; applications can also send logs over OTLP.
              </p>
            </EmptyState>
          ) : null}
          {data && data.rows.length > 0 ? (
            <LogList
              rows={data.rows}
              cluster={ref}
              orgSlug={orgSlug}
              highlight={highlight}
              onFilter={filter}
              label="Matching lines, newest first"
            />
          ) : null}
        </>
      )}
    </div>
  );
}

function TailStatus({
  paused,
  lines,
  dropped,
  lastPollAt,
}: {
  paused: boolean;
  lines: number;
  dropped: number;
  lastPollAt: number | null;
}) {
  return (
    <span className="tail-status">
      <span className={`live-dot${paused ? ' paused' : ' on'}`} aria-hidden="true" />
      <span className="strong">{paused ? 'Paused' : 'Live'}</span>
      <span className="muted">
        {' '}
        · {lines} lines
        {dropped > 0 ? ` (the oldest ${dropped} dropped: the page keeps ${TAIL_MAX_LINES})` : ''}
        {lastPollAt ? ` · checked ${relativeTime(lastPollAt)}` : ''}
      </span>
    </span>
  );
}

function TailView({
  tail,
  cluster,
  orgSlug,
  highlight,
  onFilter,
}: {
  tail: ReturnType<typeof useLiveTail>;
  cluster: ClusterRef;
  orgSlug: string;
  highlight: string[];
  onFilter: (field: string, value: string, negated: boolean) => void;
}) {
  return (
    <>
      <DataError error={tail.error} />
      {tail.skipped ? (
        <div className="alert alert-warn">
          More than 500 lines arrived within one millisecond: some of them were skipped.
        </div>
      ) : null}
      {tail.lines.length === 0 && !tail.error ? (
        <EmptyState icon="⌁" title="Waiting for new lines">
          New lines matching the query appear here as they arrive, newest on top.
        </EmptyState>
      ) : null}
      {tail.lines.length > 0 ? (
        <LogList
          rows={tail.lines}
          cluster={cluster}
          orgSlug={orgSlug}
          highlight={highlight}
          onFilter={onFilter}
          label="Live lines, newest first"
        />
      ) : null}
    </>
  );
}
