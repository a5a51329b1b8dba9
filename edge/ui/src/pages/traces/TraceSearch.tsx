/**
 * Trace search: filters (service, resource, status, duration) in the URL next to the shared time range, the
 * matching spans newest first (sortable), each with a duration bar on a common scale, and a jump to a trace id.
 * A row opens its trace with the matching span selected.
 */
import { type FormEvent, useEffect, useMemo, useState } from 'react';
import type { ClusterRef } from '../../clusterApi.ts';
import { DataError } from '../../DataPage.tsx';
import { linkClick, navigate, setSearchParams, useSearch, withSharedParams } from '../../router.ts';
import type { TimeRange } from '../../timeRange.ts';
import { useTimeRange } from '../../timeRange.ts';
import { EmptyState, Spinner } from '../../ui.tsx';
import { useLoad } from '../../useLoad.ts';
import { DurationScatter } from './DurationScatter.tsx';
import { formatDuration, formatTimestamp, nsToMs, serviceColor } from './format.ts';
import { rememberSearchUrl } from './searchState.ts';
import {
  type SpanSummary,
  searchTraces,
  statusOf,
  TRACE_STATUSES,
  type TraceStatusFilter,
} from './tracesApi.ts';

/** Matching spans read per search; the list says when there may be more. */
export const SEARCH_LIMIT = 200;

const FILTER_KEYS = ['service', 'resource', 'status', 'min', 'max', 'root'] as const;
type Filters = Record<(typeof FILTER_KEYS)[number], string>;
type SortKey = 'time' | 'service' | 'name' | 'duration';

function readFilters(search: string): Filters {
  const p = new URLSearchParams(search);
  return Object.fromEntries(FILTER_KEYS.map((k) => [k, p.get(k) ?? ''])) as Filters;
}

/** Services and operation names seen per cluster while the page is open: the filters' suggestions. */
const seenServices = new Map<string, Set<string>>();
const seenResources = new Map<string, Set<string>>();
const MAX_SEEN = 300;

export function TraceSearch({
  cluster,
  range,
  orgSlug,
}: {
  cluster: ClusterRef;
  range: TimeRange;
  orgSlug: string;
}) {
  const search = useSearch();
  const { setAbsolute } = useTimeRange();
  const applied = readFilters(search);
  const params = new URLSearchParams(search);
  const sortParam = params.get('sort') ?? '-time';
  const sortKey = sortParam.replace(/^-/, '') as SortKey;
  const sortDesc = sortParam.startsWith('-');
  const filterKey = FILTER_KEYS.map((k) => applied[k]).join('|');
  const { data, error, loading, reload } = useLoad(
    () =>
      searchTraces(cluster.orgId, cluster.clusterId, {
        start: range.start,
        end: range.end,
        service: applied.service || undefined,
        resource: applied.resource || undefined,
        status: (TRACE_STATUSES as readonly string[]).includes(applied.status)
          ? (applied.status as TraceStatusFilter)
          : undefined,
        minDurationMs: applied.min ? Number(applied.min) : undefined,
        maxDurationMs: applied.max ? Number(applied.max) : undefined,
        rootOnly: applied.root === '1' ? true : undefined,
        limit: SEARCH_LIMIT,
      }),
    `${cluster.clusterId}|${range.key}|${filterKey}`,
  );
  // biome-ignore lint/correctness/useExhaustiveDependencies: the URL (search) is what is remembered
  useEffect(() => rememberSearchUrl(location.pathname + location.search), [search]);

  const services = seenServices.get(cluster.clusterId) ?? new Set<string>();
  seenServices.set(cluster.clusterId, services);
  const resources = seenResources.get(cluster.clusterId) ?? new Set<string>();
  seenResources.set(cluster.clusterId, resources);
  for (const s of data?.spans ?? []) {
    if (services.size < MAX_SEEN) services.add(s.service);
    if (resources.size < MAX_SEEN) resources.add(s.name);
  }

  const spans = useMemo(() => sortSpans(data?.spans ?? [], sortKey, sortDesc), [data, sortKey, sortDesc]);
  const maxNs = Math.max(1, ...spans.map((s) => Number(s.durationNs)));
  const filtered = FILTER_KEYS.some((k) => applied[k] !== '');
  const sortBy = (key: SortKey) =>
    setSearchParams(
      {
        sort:
          key === sortKey
            ? sortDesc
              ? key
              : `-${key}`
            : key === 'time' || key === 'duration'
              ? `-${key}`
              : key,
      },
      true,
    );
  const ariaSort = (key: SortKey) => (key === sortKey ? (sortDesc ? 'descending' : 'ascending') : undefined);

  return (
    <div className="trace-search">
      <FilterForm
        key={filterKey}
        applied={applied}
        services={[...services].sort()}
        resources={[...resources].sort()}
      />
      <DataError error={error} onRetry={() => void reload()} />
      {loading && !data ? <Spinner label="Searching traces" /> : null}
      {data && spans.length === 0 ? (
        <EmptyState icon="≡" title="No matching spans">
          <p>
            Nothing matched {filtered ? 'these filters' : 'in this time range'}. Widen the time range
            {filtered ? ' or clear a filter' : ''}.
          </p>
          <p className="muted">
            The sensor keeps every failed and slow call and a baseline of the rest; applications instrumented
            with OpenTelemetry send their own spans.
          </p>
        </EmptyState>
      ) : null}
      {spans.length > 0 ? (
        <>
          <SearchStats
            spans={spans}
            limited={spans.length >= SEARCH_LIMIT}
            loading={loading}
            unit={applied.root === '1' ? 'traces' : 'spans'}
          />
          <DurationScatter
            spans={spans}
            range={range}
            onOpen={(s) =>
              navigate(withSharedParams(`/o/${orgSlug}/traces/${s.traceId}?span=${s.spanId}`, search))
            }
            onSelectRange={setAbsolute}
          />
          <div className="card table-card">
            <table className="table trace-table">
              <thead>
                <tr>
                  {(
                    [
                      ['time', 'Time'],
                      ['service', 'Service'],
                      ['name', 'Operation'],
                    ] as const
                  ).map(([key, label]) => (
                    <th key={key} scope="col" aria-sort={ariaSort(key)}>
                      <SortButton
                        label={label}
                        active={sortKey === key}
                        desc={sortDesc}
                        onClick={() => sortBy(key)}
                      />
                    </th>
                  ))}
                  <th scope="col">Status</th>
                  <th scope="col" aria-sort={ariaSort('duration')} className="dur-col">
                    <SortButton
                      label="Duration"
                      active={sortKey === 'duration'}
                      desc={sortDesc}
                      onClick={() => sortBy('duration')}
                    />
                  </th>
                </tr>
              </thead>
              <tbody>
                {spans.map((s) => {
                  const href = withSharedParams(`/o/${orgSlug}/traces/${s.traceId}?span=${s.spanId}`, search);
                  const status = statusOf(s.status);
                  const ns = Number(s.durationNs);
                  return (
                    <tr key={`${s.traceId}/${s.spanId}`} className="click-row" onClick={() => navigate(href)}>
                      <td className="mono nowrap">{formatTimestamp(nsToMs(s.timestamp))}</td>
                      <td className="nowrap">
                        <span
                          className="svc-swatch"
                          style={{ background: serviceColor(s.service) }}
                          aria-hidden="true"
                        />{' '}
                        {s.service || 'unknown'}
                      </td>
                      <td className="op-cell">
                        <a
                          href={href}
                          onClick={(e) => {
                            e.stopPropagation();
                            linkClick(e);
                          }}
                          title={s.name}
                        >
                          {s.name}
                        </a>
                      </td>
                      <td>
                        <span className={`status-pill status-${status}`}>
                          {status === 'unset' ? '–' : status}
                        </span>
                      </td>
                      <td className="dur-col">
                        <div className="dur-cell">
                          <span className="dur-track" aria-hidden="true">
                            <span
                              className={`dur-bar${status === 'error' ? ' failed' : ''}`}
                              style={{ width: `${Math.max(1, (ns / maxNs) * 100)}%` }}
                            />
                          </span>
                          <span className="mono">{formatDuration(ns)}</span>
                        </div>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
    </div>
  );
}

function SortButton({
  label,
  active,
  desc,
  onClick,
}: {
  label: string;
  active: boolean;
  desc: boolean;
  onClick: () => void;
}) {
  return (
    <button type="button" className={`sort-btn${active ? ' active' : ''}`} onClick={onClick}>
      {label}
      <span aria-hidden="true" className="sort-arrow">
        {active ? (desc ? '↓' : '↑') : '↕'}
      </span>
    </button>
  );
}

function sortSpans(spans: SpanSummary[], key: SortKey, desc: boolean): SpanSummary[] {
  const val = (s: SpanSummary): number | string =>
    key === 'time'
      ? nsToMs(s.timestamp)
      : key === 'duration'
        ? Number(s.durationNs)
        : key === 'service'
          ? s.service
          : s.name;
  const out = [...spans].sort((a, b) => {
    const x = val(a);
    const y = val(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
  return desc ? out.reverse() : out;
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

function SearchStats({
  spans,
  limited,
  loading,
  unit,
}: {
  spans: SpanSummary[];
  limited: boolean;
  loading: boolean;
  unit: string;
}) {
  const durations = spans.map((s) => Number(s.durationNs)).sort((a, b) => a - b);
  const errors = spans.filter((s) => statusOf(s.status) === 'error').length;
  return (
    <div className="stat-strip" aria-live="polite">
      <div>
        <span className="stat-value">{spans.length}</span>
        <span className="stat-label">{limited ? `newest ${unit} (limit ${SEARCH_LIMIT})` : unit}</span>
      </div>
      <div>
        <span className={`stat-value${errors > 0 ? ' text-danger' : ''}`}>{errors}</span>
        <span className="stat-label">failed</span>
      </div>
      <div>
        <span className="stat-value">{formatDuration(percentile(durations, 0.5))}</span>
        <span className="stat-label">p50</span>
      </div>
      <div>
        <span className="stat-value">{formatDuration(percentile(durations, 0.95))}</span>
        <span className="stat-label">p95</span>
      </div>
      <div>
        <span className="stat-value">{formatDuration(durations[durations.length - 1] ?? 0)}</span>
        <span className="stat-label">slowest</span>
      </div>
      {loading ? <span className="spinner" role="status" aria-label="Refreshing" /> : null}
    </div>
  );
}

function FilterForm({
  applied,
  services,
  resources,
}: {
  applied: Filters;
  services: string[];
  resources: string[];
}) {
  const [f, setF] = useState<Filters>(applied);
  const [traceId, setTraceId] = useState('');
  const [idError, setIdError] = useState<string | null>(null);
  const set = (k: keyof Filters) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSearchParams(Object.fromEntries(FILTER_KEYS.map((k) => [k, f[k].trim() || null])));
  };
  const jump = (e: FormEvent) => {
    e.preventDefault();
    const id = traceId.trim().toLowerCase();
    if (!/^[0-9a-f]{32}$/.test(id)) {
      setIdError('A trace id is 32 hexadecimal digits.');
      return;
    }
    setIdError(null);
    navigate(withSharedParams(`${location.pathname.replace(/\/traces.*$/, '/traces')}/${id}`));
  };
  const durationError =
    f.min && f.max && Number(f.min) > Number(f.max) ? 'The minimum is above the maximum.' : null;
  return (
    <div className="card filter-card">
      <form className="filter-form" onSubmit={submit} aria-label="Trace filters">
        <label className="field">
          <span>Service</span>
          <input value={f.service} onChange={set('service')} list="trace-services" placeholder="any" />
          <datalist id="trace-services">
            {services.map((s) => (
              <option key={s} value={s} />
            ))}
          </datalist>
        </label>
        <label className="field grow">
          <span>Resource</span>
          <input
            value={f.resource}
            onChange={set('resource')}
            list="trace-resources"
            placeholder="e.g. GET /api/orders/{id} or /api/orders"
          />
        </label>
        <datalist id="trace-resources">
          {resources.map((r) => (
            <option key={r} value={r} />
          ))}
        </datalist>
        <label className="field">
          <span>Status</span>
          <select value={f.status} onChange={set('status')}>
            <option value="">any</option>
            <option value="error">error</option>
            <option value="ok">ok</option>
            <option value="unset">unset</option>
          </select>
        </label>
        <label className="field narrow">
          <span>Min ms</span>
          <input type="number" min="0" step="any" value={f.min} onChange={set('min')} inputMode="decimal" />
        </label>
        <label className="field narrow">
          <span>Max ms</span>
          <input type="number" min="0" step="any" value={f.max} onChange={set('max')} inputMode="decimal" />
        </label>
        <label className="check-field">
          <input
            type="checkbox"
            checked={f.root === '1'}
            onChange={(e) => setF({ ...f, root: e.target.checked ? '1' : '' })}
          />
          Traces only <span className="muted">(entry spans)</span>
        </label>
        <button type="submit" className="btn btn-primary" disabled={durationError !== null}>
          Search
        </button>
      </form>
      {durationError ? <div className="field-error">{durationError}</div> : null}
      <form className="jump-form" onSubmit={jump} aria-label="Open a trace by id">
        <label className="field grow">
          <span className="sr-only">Trace id</span>
          <input
            className="mono"
            value={traceId}
            onChange={(e) => setTraceId(e.target.value)}
            placeholder="Open a trace by id (32 hex digits)"
            aria-label="Trace id"
            aria-invalid={idError !== null}
          />
        </label>
        <button type="submit" className="btn btn-secondary">
          Open trace
        </button>
        {idError ? <span className="field-error">{idError}</span> : null}
      </form>
    </div>
  );
}
