/**
 * The frame of every data page (services, map, traces, logs, metrics, events): the cluster selector and the
 * shared time-range picker on top, then the page itself once a connected cluster is chosen, or an empty
 * state that tells a new user what to do next (connect a cluster, run its command, wait for it).
 * The chosen cluster is the `cluster` query parameter (its id); without it, the first connected cluster.
 */
import { type ReactNode, useEffect, useRef } from 'react';
import { ApiError, type Cluster, endpoints, type OrgRef } from './api.ts';
import type { ClusterRef } from './clusterApi.ts';
import { linkClick, setSearchParams, useSearch } from './router.ts';
import { TimeRangePicker } from './TimeRangePicker.tsx';
import { type TimeRange, useTimeRange } from './timeRange.ts';
import { EmptyState, ErrorNote, relativeTime, Spinner } from './ui.tsx';
import { useLoad } from './useLoad.ts';

export interface DataContext {
  org: OrgRef;
  cluster: Cluster;
  /** For clusterApi calls. */
  ref: ClusterRef;
  range: TimeRange;
}

/** How often the cluster list is read again while the chosen cluster is not connected. */
const WAIT_POLL_MS = 10_000;

export function DataPage({
  org,
  children,
  toolbar,
}: {
  org: OrgRef;
  children: (ctx: DataContext) => ReactNode;
  /** Page controls shown in the toolbar between the cluster selector and the time range. */
  toolbar?: ReactNode;
}) {
  const { data, error, loading, reload } = useLoad(() => endpoints.clusters(org.id), org.id);
  const search = useSearch();
  const { range } = useTimeRange();
  const clusters = data?.clusters ?? [];
  const wanted = new URLSearchParams(search).get('cluster');
  const cluster =
    clusters.find((c) => c.id === wanted) ?? clusters.find((c) => c.status === 'connected') ?? clusters[0];
  const waiting = cluster !== undefined && cluster.status !== 'connected';
  useEffect(() => {
    if (!waiting) return;
    const t = setInterval(() => void reload(), WAIT_POLL_MS);
    return () => clearInterval(t);
  }, [waiting, reload]);

  return (
    <div className="page data-page">
      <div className="data-toolbar">
        {clusters.length > 0 ? (
          <label className="cluster-select">
            <span className={`status-dot status-${cluster?.status ?? 'pending'}`} aria-hidden="true" />
            <span className="sr-only">Cluster</span>
            <select
              aria-label="Cluster"
              value={cluster?.id ?? ''}
              onChange={(e) => setSearchParams({ cluster: e.target.value })}
            >
              {clusters.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                  {c.status === 'connected' ? '' : ` (${c.status})`}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        <div className="data-toolbar-page">{toolbar}</div>
        <TimeRangePicker />
      </div>
      {range.invalid ? (
        <div className="alert alert-warn" role="status">
          Showing the last hour: {range.invalid}.
        </div>
      ) : null}
      {error ? <ErrorNote error={error} /> : null}
      {loading && !data ? <Spinner label="Loading clusters" /> : null}
      {data && !cluster ? <NoCluster org={org} /> : null}
      {cluster && waiting ? <NotConnected org={org} cluster={cluster} /> : null}
      {cluster && !waiting
        ? children({ org, cluster, ref: { orgId: org.id, clusterId: cluster.id }, range })
        : null}
    </div>
  );
}

function NoCluster({ org }: { org: OrgRef }) {
  const canWrite = org.role !== 'viewer';
  return (
    <EmptyState
      icon="⎈"
      title="Connect your first cluster"
      action={
        canWrite ? (
          <a className="btn btn-primary" href={`/o/${org.slug}/clusters`} onClick={linkClick}>
            Connect a cluster
          </a>
        ) : null
      }
    >
      <p>
        Understory reads services, traces, logs and metrics from a small portal running inside your cluster.
        Your data stays there; this page asks the portal when you look.
      </p>
      <p className="muted">
        {canWrite
          ? 'Create a cluster to get its Helm command, or the one-line local command to try it on one machine.'
          : `Ask an editor or admin of ${org.name} to connect a cluster.`}
      </p>
    </EmptyState>
  );
}

function NotConnected({ org, cluster }: { org: OrgRef; cluster: Cluster }) {
  const never = cluster.lastSeenAt === null;
  return (
    <EmptyState
      icon="⌁"
      title={never ? `Waiting for ${cluster.name} to connect` : `${cluster.name} is not connected`}
      action={
        <a className="btn btn-secondary" href={`/o/${org.slug}/clusters`} onClick={linkClick}>
          Open clusters
        </a>
      }
    >
      {never ? (
        <p>
          Run the Helm command (or the local command) shown when the cluster was created. The portal dials out
          to Understory; as soon as it says hello, this page fills in.
        </p>
      ) : (
        <p>
          Its portal was last seen {relativeTime(cluster.lastSeenAt)}. Check that the{' '}
          <code>understory-portal</code> pod is running and can reach this site.
        </p>
      )}
      <p className="muted">
        Lost the command? Rotate the install token on the Clusters page to get a new one. This page checks
        again every 10 seconds.
      </p>
    </EmptyState>
  );
}

/** Errors that pass by themselves: the portal reconnecting (503), a busy portal (429). */
const AUTO_RETRY_MS: Record<number, number> = { 503: 5000, 429: 3000 };

/**
 * An error from a data query, with what to do about it: the tunnel's codes (503 not connected, 504 timeout,
 * 501 not served by this portal) get advice; others show the server's message. A passing error (a portal
 * reconnecting, a busy one) is retried by itself after a few seconds (while the tab is visible), so a page
 * left open recovers without a click; the Retry button does it at once.
 */
/**
 * Retries a passing error (AUTO_RETRY_MS) by itself after its delay, again while the tab is hidden; true while
 * a retry is pending. Charts and tables use it so a page left open recovers from a portal reconnecting.
 */
export function useAutoRetry(error: unknown, retry: (() => unknown) | undefined): boolean {
  const status = error instanceof ApiError ? error.status : 0;
  const delay = retry ? AUTO_RETRY_MS[status] : undefined;
  const retryRef = useRef(retry);
  retryRef.current = retry;
  useEffect(() => {
    if (!error || delay === undefined) return;
    let timer: ReturnType<typeof setTimeout>;
    const fire = () => {
      if (document.hidden) timer = setTimeout(fire, delay);
      else retryRef.current?.();
    };
    timer = setTimeout(fire, delay);
    return () => clearTimeout(timer);
  }, [error, delay]);
  return Boolean(error) && delay !== undefined;
}

export function DataError({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const status = error instanceof ApiError ? error.status : 0;
  const retrying = useAutoRetry(error, onRetry);
  if (!error) return null;
  let advice: string | null = null;
  if (status === 503) advice = 'The cluster went away while asking it. It may be restarting.';
  else if (status === 504) advice = 'The cluster did not answer in time. Try a shorter time range.';
  else if (status === 501) advice = 'This cluster’s portal does not serve this kind of data.';
  else if (status === 429) advice = 'The cluster is busy answering other queries.';
  return (
    <div className="alert alert-error data-error" role="alert">
      <div>
        <div className="strong">{advice ?? 'The query failed.'}</div>
        <div>{error instanceof Error ? error.message : String(error)}</div>
        {retrying ? <div className="muted">Trying again in a few seconds.</div> : null}
      </div>
      {onRetry ? (
        <button type="button" className="btn btn-ghost btn-sm" onClick={onRetry}>
          Retry
        </button>
      ) : null}
    </div>
  );
}
