/**
 * One monitor: its state, condition and settings, what it is doing now (current alerts), what it did over the
 * time range (a state timeline and the transitions), and, for PromQL, its expression charted against the
 * threshold. Editors can edit, mute, disable and delete it. State is read again every 10 s.
 */
import { useCallback } from 'react';
import { ApiError } from '../../api.ts';
import type { DataContext } from '../../DataPage.tsx';
import { DataError } from '../../DataPage.tsx';
import { linkClick, navigate, withSharedParams } from '../../router.ts';
import { EmptyState, ErrorNote, relativeTime, Spinner } from '../../ui.tsx';
import { useAction } from '../../useAction.ts';
import { useLoad } from '../../useLoad.ts';
import { AlertLinks } from './AlertLinks.tsx';
import { AlertTimeline } from './AlertTimeline.tsx';
import { HistoryTable } from './HistoryTable.tsx';
import { canEdit, monitorsPath } from './MonitorsPage.tsx';
import { MuteControl } from './MuteControl.tsx';
import {
  conditionSummary,
  formatSeconds,
  type MonitorState,
  monitorMute,
  monitorsApi,
  toInput,
} from './monitorsApi.ts';
import { PromqlPreview } from './PromqlPreview.tsx';
import {
  formatAlertValue,
  formatSpan,
  LabelChips,
  SeverityBadge,
  StateBadge,
  StateSince,
  usePolling,
} from './parts.tsx';
import { HIDDEN_LABELS } from './timelineBands.ts';

const POLL_MS = 10_000;

export function MonitorDetail({ ctx, monitorId }: { ctx: DataContext; monitorId: string }) {
  const { ref, org, range } = ctx;
  const editor = canEdit(org);
  const action = useAction();
  const busy = action.busy;
  const load = useCallback(async () => {
    // A relative range keeps moving while the page polls: history up to now, not to when the page opened.
    const now = Date.now();
    const window = { start: range.start, end: range.relative ? Math.max(now, range.end) : range.end };
    const [one, silences, targets, history] = await Promise.all([
      monitorsApi.get(ref, monitorId),
      monitorsApi.silences(ref),
      monitorsApi.targets(ref),
      monitorsApi.history(ref, { ...window, monitorId, limit: 1000 }),
    ]);
    return {
      ...one,
      silences: silences.silences,
      targets: targets.targets,
      history: history.history,
      now,
      window,
    };
  }, [ref, monitorId, range]);
  const { data, error, loading, reload } = useLoad(load, `${ref.clusterId}|${monitorId}|${range.key}`);
  usePolling(reload, POLL_MS);

  if (error instanceof ApiError && error.status === 404)
    return (
      <EmptyState
        icon="⚑"
        title="No such monitor"
        action={
          <a className="btn btn-secondary" href={monitorsPath(org)} onClick={linkClick}>
            All monitors
          </a>
        }
      >
        <p>It may have been deleted, or it belongs to another cluster.</p>
      </EmptyState>
    );
  if (!data)
    return error ? <DataError error={error} onRetry={reload} /> : <Spinner label="Loading the monitor" />;

  const { monitor: m, alerts } = data;
  const firing = alerts.filter((a) => a.state === 'firing').length;
  const state: MonitorState = !m.enabled
    ? 'disabled'
    : firing > 0
      ? 'firing'
      : alerts.length > 0
        ? 'pending'
        : 'ok';
  const mute = monitorMute(data.silences, m.id, data.now);
  const c = m.condition;
  const act = (f: () => Promise<unknown>) =>
    action.run(async () => {
      await f();
      await reload();
    });
  const remove = () => {
    if (!window.confirm(`Delete the monitor “${m.name}”? Its alerts resolve; history stays.`)) return;
    void act(async () => {
      await monitorsApi.remove(ref, m.id);
      navigate(monitorsPath(org));
    });
  };

  return (
    <>
      <div className="mon-detail-head">
        <a href={monitorsPath(org)} onClick={linkClick} className="muted">
          ← All monitors
        </a>
        <div className="mon-title-row">
          <h2 data-monitor-title={m.name}>{m.name}</h2>
          <StateBadge state={state} />
          {mute ? <StateBadge state="muted" /> : null}
          <SeverityBadge severity={m.severity} />
          {editor ? (
            <div className="mon-actions">
              <MuteControl
                cluster={ref}
                monitorId={m.id}
                monitorName={m.name}
                mute={mute}
                onChanged={reload}
                action={action}
              />
              <button
                type="button"
                className="btn btn-ghost btn-sm"
                disabled={busy}
                onClick={() =>
                  act(() => monitorsApi.update(ref, m.id, { ...toInput(m), enabled: !m.enabled }))
                }
              >
                {m.enabled ? 'Disable' : 'Enable'}
              </button>
              <a
                className="btn btn-ghost btn-sm"
                href={withSharedParams(`/o/${org.slug}/monitors/new?copy=${encodeURIComponent(m.id)}`)}
                onClick={linkClick}
              >
                Duplicate
              </a>
              <a
                className="btn btn-secondary btn-sm"
                href={monitorsPath(org, `m/${encodeURIComponent(m.id)}/edit`)}
                onClick={linkClick}
              >
                Edit
              </a>
              <button type="button" className="btn btn-danger btn-sm" disabled={busy} onClick={remove}>
                Delete
              </button>
            </div>
          ) : null}
        </div>
        <p className="mon-title-since">
          <StateSince state={state} at={data.lastTransitionAt} now={data.now} />
        </p>
        {mute ? (
          <div className="alert alert-warn" role="status">
            Muted until {new Date(mute.endsAt).toLocaleString()} ({relativeTime(mute.endsAt, data.now)}):
            alerts are recorded, nobody is notified.
          </div>
        ) : null}
      </div>
      <DataError error={error} onRetry={reload} />
      <ErrorNote error={action.error} />

      <section className="card panel mon-facts" aria-label="Definition">
        <dl>
          <div className="mon-fact-wide">
            <dt>Condition</dt>
            <dd className="mono mon-cond-full">
              <span className="mon-kind">{c.type === 'promql' ? 'PromQL' : `SQL ${c.source}`}</span>
              {conditionSummary(c)}
            </dd>
          </div>
          <div>
            <dt>Evaluated</dt>
            <dd>
              every {formatSeconds(m.intervalSeconds)},{' '}
              {m.forSeconds === 0
                ? 'fires as soon as the condition holds'
                : `fires after ${formatSeconds(m.forSeconds)} pending`}
            </dd>
          </div>
          <div>
            <dt>Labels</dt>
            <dd>
              <LabelChips labels={m.labels} />
            </dd>
          </div>
          <div>
            <dt>Notifies</dt>
            <dd>
              {m.targets.length === 0
                ? 'nobody (recorded only)'
                : m.targets.map((t) => (
                    <span key={t} className="chip">
                      {data.targets.find((x) => x.id === t)?.name ?? t}
                    </span>
                  ))}
            </dd>
          </div>
          <div className="mon-fact-wide">
            <dt>Message</dt>
            <dd className="mono">{m.message}</dd>
          </div>
        </dl>
      </section>

      <section className="card panel" aria-labelledby="now-h">
        <div className="section-head">
          <h3 id="now-h">Alerts now</h3>
          <span className="muted count-note" aria-live="polite">
            {alerts.length === 0 ? 'none' : `${firing} firing, ${alerts.length - firing} pending`}
            {loading ? ' · reading…' : ''}
          </span>
        </div>
        {alerts.length === 0 ? (
          <p className="muted">
            {m.enabled ? 'The condition does not hold for any series right now.' : 'The monitor is disabled.'}
          </p>
        ) : (
          <table className="table data-table">
            <thead>
              <tr>
                <th scope="col">State</th>
                <th scope="col">Alert</th>
                <th scope="col" className="num">
                  Value
                </th>
                <th scope="col">Active for</th>
                <th scope="col">
                  <span className="sr-only">Look closer</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {alerts.map((a) => (
                <tr key={a.fingerprint} data-alert-row={a.state}>
                  <td>
                    <StateBadge state={a.state} />
                  </td>
                  <td className="cell-wrap">
                    <LabelChips labels={a.labels} skip={HIDDEN_LABELS} />
                  </td>
                  <td className="num">{formatAlertValue(a.value)}</td>
                  <td title={new Date(a.activeSince).toLocaleString()}>
                    {formatSpan(data.now - a.activeSince)}
                    {a.firingSince ? ` (firing ${formatSpan(data.now - a.firingSince)})` : ''}
                  </td>
                  <td className="actions">
                    <AlertLinks org={org} monitor={m} labels={a.labels} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      {c.type === 'promql' ? (
        <section className="card panel" aria-labelledby="chart-h">
          <h3 id="chart-h">Query and threshold over the time range</h3>
          <PromqlPreview ctx={ctx} query={c.query} op={c.op} threshold={String(c.threshold)} />
        </section>
      ) : null}

      <section className="card panel" aria-labelledby="tl-h">
        <h3 id="tl-h">Timeline</h3>
        <AlertTimeline history={data.history} current={alerts} range={data.window} />
      </section>

      <section aria-labelledby="hist-h" className="mon-section">
        <div className="section-head">
          <h3 id="hist-h">Transitions</h3>
          <span className="muted count-note">{data.history.length} in this time range</span>
        </div>
        {data.history.length === 0 ? (
          <p className="muted">No transition in this time range.</p>
        ) : (
          <HistoryTable org={org} rows={data.history} showMonitor={false} />
        )}
      </section>
    </>
  );
}
