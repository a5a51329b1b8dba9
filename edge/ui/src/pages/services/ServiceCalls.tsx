/**
 * The slowest and the failing calls a service served, from the sampled traces (the sensor keeps every
 * failed and slow call): each links to its trace. Slow means at or above the service's p95 when it is known.
 */
import { formatDuration } from '../../charts/format.ts';
import { clusterGet, type SpanSummary } from '../../clusterApi.ts';
import { type DataContext, DataError } from '../../DataPage.tsx';
import { linkClick, useSearch, withSharedParams } from '../../router.ts';
import { formatTime } from '../../timeRange.ts';
import { Spinner } from '../../ui.tsx';
import { useLoad } from '../../useLoad.ts';

const SHOWN = 8;
/** Slow candidates read to pick the slowest from (the portal answers newest first). */
const SLOW_CANDIDATES = 200;

export function ServiceCalls({
  ctx,
  workload,
  p95,
}: {
  ctx: DataContext;
  workload: string;
  p95: number | null;
}) {
  const { ref, range, org } = ctx;
  const search = useSearch();
  const minMs = p95 !== null ? Math.floor(p95 * 1000) : undefined;
  const key = `${ref.clusterId}|${range.key}|${workload}`;
  const slow = useLoad(
    () =>
      clusterGet<{ spans: SpanSummary[] }>(ref, 'traces', {
        start: range.start,
        end: range.end,
        service: workload,
        minDurationMs: minMs,
        limit: SLOW_CANDIDATES,
      }),
    `${key}|${minMs}`,
  );
  const failing = useLoad(
    () =>
      clusterGet<{ spans: SpanSummary[] }>(ref, 'traces', {
        start: range.start,
        end: range.end,
        service: workload,
        status: 'error',
        limit: SHOWN,
      }),
    key,
  );
  const slowest = [...(slow.data?.spans ?? [])]
    .sort((a, b) => Number(b.durationNs) - Number(a.durationNs))
    .slice(0, SHOWN);
  const tracesUrl = (extra: string) =>
    withSharedParams(`/o/${org.slug}/traces?service=${encodeURIComponent(workload)}${extra}`, search);

  return (
    <div className="chart-grid chart-grid-2">
      <CallList
        title="Slowest calls"
        id="slowest"
        load={slow}
        spans={slowest}
        empty={
          minMs !== undefined
            ? `No sampled call at or above the p95 (${formatDuration(p95)}).`
            : 'No sampled calls.'
        }
        all={tracesUrl(minMs !== undefined ? `&min=${minMs}` : '')}
        orgSlug={org.slug}
        search={search}
      />
      <CallList
        title="Failing calls"
        id="failing"
        load={failing}
        spans={failing.data?.spans ?? []}
        empty="No failed calls in this time range."
        all={tracesUrl('&status=error')}
        orgSlug={org.slug}
        search={search}
      />
    </div>
  );
}

function CallList(props: {
  title: string;
  id: string;
  load: { error: unknown; loading: boolean; data: unknown; reload: () => Promise<void> };
  spans: SpanSummary[];
  empty: string;
  all: string;
  orgSlug: string;
  search: string;
}) {
  const { load, spans } = props;
  return (
    <section
      className="card calls-card"
      aria-labelledby={`calls-${props.id}`}
      data-testid={`calls-${props.id}`}
    >
      <div className="calls-head">
        <h3 id={`calls-${props.id}`}>{props.title}</h3>
        <a href={props.all} onClick={linkClick} className="btn btn-ghost btn-sm">
          All in Traces
        </a>
      </div>
      <DataError error={load.error} onRetry={() => void load.reload()} />
      {load.loading && !load.data ? <Spinner label="Loading calls" /> : null}
      {load.data && spans.length === 0 ? <p className="muted calls-empty">{props.empty}</p> : null}
      {spans.length > 0 ? (
        <ul className="calls">
          {spans.map((s) => {
            const ms = Number(s.timestamp.slice(0, -6) || '0');
            const failed = /error/i.test(s.status);
            return (
              <li key={`${s.traceId}/${s.spanId}`}>
                <a
                  href={withSharedParams(
                    `/o/${props.orgSlug}/traces/${s.traceId}?span=${s.spanId}`,
                    props.search,
                  )}
                  onClick={linkClick}
                  className="call"
                >
                  <span className={failed ? 'call-status call-status-error' : 'call-status'} />
                  <span className="sr-only">{failed ? 'failed' : 'ok'}</span>
                  <span className="call-name mono">{s.name}</span>
                  <span className="call-time muted">{formatTime(ms, 86_400_000)}</span>
                  <span className="call-duration">{formatDuration(Number(s.durationNs) / 1e9)}</span>
                </a>
              </li>
            );
          })}
        </ul>
      ) : null}
    </section>
  );
}
