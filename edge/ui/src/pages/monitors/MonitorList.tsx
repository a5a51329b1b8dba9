/**
 * Every monitor of the cluster with its live state (firing, pending, OK, disabled), severity, the last
 * transition, where it notifies and whether it is muted; tiles with the counts; text, state and severity
 * filters in the URL (q, state, severity). The ready-made monitors sit on top for editors (all of them when
 * there is no monitor yet). The list is read again every 10 s: alert state changes in the cluster by itself.
 */
import { useCallback, useMemo } from 'react';
import { type DataContext, DataError } from '../../DataPage.tsx';
import { linkClick, setSearchParams, useSearch } from '../../router.ts';
import { EmptyState, ErrorNote, TableSkeleton } from '../../ui.tsx';
import { useAction } from '../../useAction.ts';
import { useLoad } from '../../useLoad.ts';
import { canEdit, monitorsPath } from './MonitorsPage.tsx';
import { MuteControl } from './MuteControl.tsx';
import {
  conditionSummary,
  type MonitorState,
  type MonitorWithCounts,
  monitorMute,
  monitorState,
  monitorsApi,
  SEVERITIES,
} from './monitorsApi.ts';
import { SeverityBadge, StateBadge, StateSince, usePolling } from './parts.tsx';
import { TemplateGallery } from './TemplateGallery.tsx';

const POLL_MS = 10_000;
const STATE_ORDER: Record<MonitorState, number> = { firing: 0, pending: 1, ok: 2, disabled: 3 };

export function MonitorList({ ctx }: { ctx: DataContext }) {
  const { ref, org, range } = ctx;
  const editor = canEdit(org);
  const params = new URLSearchParams(useSearch());
  const q = params.get('q') ?? '';
  const stateFilter = params.get('state') ?? '';
  const severityFilter = params.get('severity') ?? '';
  const rowAction = useAction();

  const load = useCallback(async () => {
    const [list, silences, targets] = await Promise.all([
      monitorsApi.list(ref),
      monitorsApi.silences(ref),
      monitorsApi.targets(ref),
    ]);
    return { ...list, silences: silences.silences, targets: targets.targets, now: Date.now() };
  }, [ref]);
  const { data, error, loading, reload } = useLoad(load, `${ref.clusterId}|${range.key}`);
  usePolling(reload, POLL_MS);

  const rows = useMemo(() => {
    const needle = q.trim().toLowerCase();
    return (data?.monitors ?? [])
      .map((m) => ({ m, state: monitorState(m), mute: monitorMute(data!.silences, m.id, data!.now) }))
      .filter(({ m, state }) => {
        if (stateFilter && state !== stateFilter) return false;
        if (severityFilter && m.severity !== severityFilter) return false;
        if (!needle) return true;
        const text = `${m.name} ${m.id} ${Object.values(m.labels).join(' ')} ${conditionSummary(m.condition)}`;
        return text.toLowerCase().includes(needle);
      })
      .sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || a.m.name.localeCompare(b.m.name));
  }, [data, q, stateFilter, severityFilter]);

  const counts = useMemo(() => {
    const all = data?.monitors ?? [];
    const c = { firing: 0, pending: 0, ok: 0, disabled: 0, alerts: 0, muted: 0 };
    for (const m of all) {
      c[monitorState(m)]++;
      c.alerts += m.alerts.firing;
      if (monitorMute(data!.silences, m.id, data!.now)) c.muted++;
    }
    return c;
  }, [data]);

  const targetName = (id: string) => data?.targets.find((t) => t.id === id)?.name ?? id;
  const empty = data !== undefined && data.monitors.length === 0;
  const filtered = q !== '' || stateFilter !== '' || severityFilter !== '';

  return (
    <>
      {data && !empty ? (
        <section className="tiles" aria-label="Monitor summary">
          <Tile
            label="Firing"
            value={counts.firing}
            hint={`${counts.alerts} alert${counts.alerts === 1 ? '' : 's'} firing`}
            bad
          />
          <Tile label="Pending" value={counts.pending} hint="condition true, waiting for its 'for'" />
          <Tile label="OK" value={counts.ok} hint="condition false" />
          <Tile
            label="Muted / disabled"
            value={counts.muted + counts.disabled}
            hint={`${counts.muted} muted, ${counts.disabled} disabled`}
          />
        </section>
      ) : null}
      {editor ? <TemplateGallery ctx={ctx} compact={!empty} /> : null}
      <DataError error={error} onRetry={reload} />
      <ErrorNote error={rowAction.error} />
      {loading && !data ? <TableSkeleton rows={5} label="Loading monitors" /> : null}
      {empty ? (
        <EmptyState
          icon="⚑"
          title="No monitors yet"
          action={
            editor ? (
              <a className="btn btn-secondary" href={monitorsPath(org, 'new')} onClick={linkClick}>
                Write a custom monitor
              </a>
            ) : null
          }
        >
          <p>
            Monitors watch your cluster's metrics, logs, traces and events, and tell you when something goes
            wrong. They are evaluated inside the cluster, next to the data.
          </p>
          <p className="muted">
            {editor
              ? 'Turn on a ready-made monitor above, or write your own PromQL or SQL condition.'
              : `Ask an editor of ${org.name} to set up monitors.`}
          </p>
        </EmptyState>
      ) : null}
      {data && !empty ? (
        <>
          <div className="filters">
            <label className="field-inline grow">
              <span className="sr-only">Filter monitors</span>
              <input
                type="search"
                aria-label="Filter monitors"
                placeholder="Filter by name, label or query"
                value={q}
                onChange={(e) => setSearchParams({ q: e.target.value || null }, true)}
              />
            </label>
            <label className="field-inline">
              <span className="sr-only">State</span>
              <select
                aria-label="State"
                value={stateFilter}
                onChange={(e) => setSearchParams({ state: e.target.value || null })}
              >
                <option value="">All states</option>
                <option value="firing">Firing</option>
                <option value="pending">Pending</option>
                <option value="ok">OK</option>
                <option value="disabled">Disabled</option>
              </select>
            </label>
            <label className="field-inline">
              <span className="sr-only">Severity</span>
              <select
                aria-label="Severity"
                value={severityFilter}
                onChange={(e) => setSearchParams({ severity: e.target.value || null })}
              >
                <option value="">All severities</option>
                {SEVERITIES.map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
            </label>
            {editor ? (
              <a className="btn btn-primary" href={monitorsPath(org, 'new')} onClick={linkClick}>
                New monitor
              </a>
            ) : null}
          </div>
          <div className="card table-card">
            <table className="table data-table mon-table">
              <thead>
                <tr>
                  <th scope="col">State</th>
                  <th scope="col">Monitor</th>
                  <th scope="col">Severity</th>

                  <th scope="col">In this state</th>
                  <th scope="col">Notifies</th>
                  {editor ? (
                    <th scope="col">
                      <span className="sr-only">Actions</span>
                    </th>
                  ) : null}
                </tr>
              </thead>
              <tbody>
                {rows.map(({ m, state, mute }) => {
                  return (
                    <tr key={m.id} data-monitor-row={m.name} data-state={state}>
                      <td>
                        <StateBadge state={state} />
                        <div className="mon-state-sub">
                          {alertCounts(m)}
                          {mute ? (
                            <span
                              className="mon-muted"
                              title={`Muted until ${new Date(mute.endsAt).toLocaleString()}`}
                            >
                              muted
                            </span>
                          ) : null}
                        </div>
                      </td>
                      <td className="cell-wrap mon-name-cell">
                        <a
                          className="strong"
                          href={monitorsPath(org, `m/${encodeURIComponent(m.id)}`)}
                          onClick={linkClick}
                        >
                          {m.name}
                        </a>
                        <div className="mon-cond mono muted" title={conditionSummary(m.condition)}>
                          <span className="mon-kind">
                            {m.condition.type === 'promql' ? 'PromQL' : `SQL ${m.condition.source}`}
                          </span>
                          {conditionSummary(m.condition)}
                        </div>
                      </td>
                      <td>
                        <SeverityBadge severity={m.severity} />
                      </td>

                      <td>
                        <StateSince state={state} at={m.lastTransitionAt} now={data.now} stacked />
                      </td>
                      <td className="cell-wrap">
                        {m.targets.length === 0 ? (
                          <span className="muted">nobody</span>
                        ) : (
                          m.targets.map((t) => (
                            <span key={t} className="chip">
                              {targetName(t)}
                            </span>
                          ))
                        )}
                      </td>
                      {editor ? (
                        <td className="actions">
                          <div className="mon-row-actions">
                            <MuteControl
                              cluster={ref}
                              monitorId={m.id}
                              monitorName={m.name}
                              mute={mute}
                              onChanged={reload}
                              action={rowAction}
                            />
                            <a
                              className="btn btn-ghost btn-sm"
                              href={monitorsPath(org, `m/${encodeURIComponent(m.id)}/edit`)}
                              onClick={linkClick}
                              aria-label={`Edit ${m.name}`}
                            >
                              Edit
                            </a>
                          </div>
                        </td>
                      ) : null}
                    </tr>
                  );
                })}
              </tbody>
            </table>
            {rows.length === 0 && filtered ? (
              <div className="table-note muted">
                No monitor matches these filters.{' '}
                <button
                  type="button"
                  className="link-button"
                  onClick={() => setSearchParams({ q: null, state: null, severity: null })}
                >
                  Clear filters
                </button>
              </div>
            ) : null}
          </div>
          <p className="muted mon-footnote" aria-live="polite">
            State as evaluated in the cluster; read again every 10 seconds
            {loading ? ' (reading…)' : ''}.
          </p>
        </>
      ) : null}
    </>
  );
}

/** "1 firing, 2 pending" under the state badge; nothing when no alert is active. */
function alertCounts(m: MonitorWithCounts): string {
  const parts = [];
  if (m.alerts.firing > 0) parts.push(`${m.alerts.firing} firing`);
  if (m.alerts.pending > 0) parts.push(`${m.alerts.pending} pending`);
  return parts.join(', ');
}

function Tile(props: { label: string; value: number; hint: string; bad?: boolean }) {
  return (
    <div className={props.bad && props.value > 0 ? 'tile tile-bad' : 'tile'}>
      <div className="tile-label">{props.label}</div>
      <div className="tile-value">{props.value}</div>
      <div className="tile-hint">{props.hint}</div>
    </div>
  );
}
