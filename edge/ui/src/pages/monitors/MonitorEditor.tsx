/**
 * Create or edit a monitor: a PromQL condition (with a live chart of the expression and the threshold over the
 * page's time range, read through the cluster's Prometheus API) or a SQL condition over logs, traces or events;
 * threshold, evaluation interval, `for`, severity, labels, message template, notification targets. New
 * monitors start from `type` in the URL (promql or sql). Viewers get a read-only notice instead.
 */
import { type FormEvent, useEffect, useState } from 'react';
import { type DataContext, DataError } from '../../DataPage.tsx';
import { linkClick, navigate, useSearch } from '../../router.ts';
import { EmptyState, ErrorNote, Spinner } from '../../ui.tsx';
import { useAction } from '../../useAction.ts';
import { useLoad } from '../../useLoad.ts';
import { canEdit, monitorsPath } from './MonitorsPage.tsx';
import { type Draft, draftFromMonitor, draftToInput, emptyDraft, PLACEHOLDERS } from './monitorDraft.ts';
import {
  COMPARISONS,
  monitorsApi,
  parseSeconds,
  SEVERITIES,
  SQL_GROUP_FIELDS,
  SQL_SOURCES,
} from './monitorsApi.ts';
import { PromqlPreview } from './PromqlPreview.tsx';
import { SqlDryRun } from './SqlDryRun.tsx';
import { SqlLogsPreview } from './SqlLogsPreview.tsx';
import { TargetChecks } from './TemplateGallery.tsx';

const FILTER_HINTS: Record<string, string> = {
  logs: 'severity:error service:"checkout" -"health check"',
  traces: 'service:checkout severity:error',
  events: 'attr.reason:BackOff namespace:shop',
};

/**
 * A new monitor may start from a link: `query`, `name`, `op`, `threshold`, `for`, `every`, `severity`, `labels`
 * (a JSON object) in the URL, e.g. a ready-made monitor customized, or a query from elsewhere in the UI.
 */
function prefilledDraft(type: 'promql' | 'sql', p: URLSearchParams): Draft {
  const d = emptyDraft(type);
  const op = p.get('op');
  const severity = p.get('severity');
  let labels: Draft['labels'] = [];
  try {
    const parsed = JSON.parse(p.get('labels') ?? '{}') as Record<string, unknown>;
    labels = Object.entries(parsed).map(([key, value]) => ({ key, value: String(value) }));
  } catch {
    labels = [];
  }
  return {
    ...d,
    query: p.get('query') ?? d.query,
    name: p.get('name') ?? d.name,
    op: COMPARISONS.includes(op as Draft['op']) ? (op as Draft['op']) : d.op,
    threshold: p.get('threshold') ?? d.threshold,
    forDuration: p.get('for') ?? d.forDuration,
    interval: p.get('every') ?? d.interval,
    severity: SEVERITIES.includes(severity as Draft['severity'])
      ? (severity as Draft['severity'])
      : d.severity,
    labels,
  };
}

/** Rows for the query box: its lines, long ones counted as wrapped (about 110 characters a row), 3 to 8. */
function queryRows(text: string): number {
  const rows = text.split('\n').reduce((n, line) => n + Math.max(1, Math.ceil(line.length / 110)), 0);
  return Math.min(8, Math.max(3, rows));
}

export function MonitorEditor({ ctx, monitorId }: { ctx: DataContext; monitorId?: string }) {
  const { ref, org } = ctx;
  const params = new URLSearchParams(useSearch());
  const type = params.get('type') === 'sql' ? 'sql' : 'promql';
  // `copy=<id>`: a new monitor starting as a copy of another (Duplicate on a monitor's page).
  const copyId = monitorId ? null : params.get('copy');
  const source = monitorId ?? copyId;
  const existing = useLoad(
    async () => (source ? (await monitorsApi.get(ref, source)).monitor : null),
    `${ref.clusterId}|${source ?? ''}`,
  );
  const targets = useLoad(() => monitorsApi.targets(ref), ref.clusterId);
  const [draft, setDraft] = useState<Draft | null>(source ? null : prefilledDraft(type, params));
  useEffect(() => {
    if (!existing.data || draft) return;
    const loaded = draftFromMonitor(existing.data);
    setDraft(copyId ? { ...loaded, name: `Copy of ${loaded.name}` } : loaded);
  }, [existing.data, draft, copyId]);
  const [problems, setProblems] = useState<string[]>([]);
  const { busy, error, run } = useAction();
  const back = monitorId ? monitorsPath(org, `m/${encodeURIComponent(monitorId)}`) : monitorsPath(org);

  if (!canEdit(org))
    return (
      <EmptyState
        icon="⊘"
        title="Read-only"
        action={
          <a className="btn btn-secondary" href={back} onClick={linkClick}>
            Back
          </a>
        }
      >
        <p>Only editors and admins can create or change monitors.</p>
      </EmptyState>
    );
  if (existing.error) return <DataError error={existing.error} onRetry={existing.reload} />;
  if (!draft) return <Spinner label="Loading the monitor" />;

  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => setDraft((d) => (d ? { ...d, [k]: v } : d));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const checked = draftToInput(draft);
    setProblems(checked.problems);
    const input = checked.input;
    // Run even when the draft has problems: that clears the previous save's error, which no longer applies.
    void run(async () => {
      if (!input) return;
      const { monitor } = monitorId
        ? await monitorsApi.update(ref, monitorId, input)
        : await monitorsApi.create(ref, input);
      navigate(monitorsPath(org, `m/${encodeURIComponent(monitor.id)}`));
    });
  };
  const groupFields = SQL_GROUP_FIELDS[draft.source];

  return (
    <form
      className="mon-editor"
      onSubmit={submit}
      aria-label={monitorId ? 'Edit monitor' : 'New monitor'}
      noValidate
    >
      <div className="mon-editor-head">
        <a href={back} onClick={linkClick} className="muted">
          ← {monitorId ? 'Back to the monitor' : 'All monitors'}
        </a>
        <h2>
          {monitorId
            ? `Edit ${existing.data?.name ?? ''}`
            : copyId
              ? `New monitor, a copy of ${existing.data?.name ?? ''}`
              : 'New monitor'}
        </h2>
      </div>

      <section className="card panel" aria-labelledby="cond-h">
        <div className="section-head">
          <h3 id="cond-h">Condition</h3>
          <div className="mon-segmented" role="radiogroup" aria-label="Condition type">
            {(['promql', 'sql'] as const).map((t) => (
              <label key={t} className={draft.type === t ? 'active' : ''}>
                <input
                  type="radio"
                  name="condition-type"
                  value={t}
                  checked={draft.type === t}
                  onChange={() => set('type', t)}
                />
                {t === 'promql' ? 'PromQL (metrics)' : 'SQL (logs, traces, events)'}
              </label>
            ))}
          </div>
        </div>
        {draft.type === 'promql' ? (
          <>
            <div className="field">
              <label htmlFor="mon-query" className="field-label">
                PromQL query
              </label>
              <textarea
                id="mon-query"
                className="query-box mono"
                rows={queryRows(draft.query)}
                spellCheck={false}
                value={draft.query}
                onChange={(e) => set('query', e.target.value)}
                placeholder='sum(rate(http_server_request_duration_seconds_count{error="true"}[5m]))'
              />
              <small className="muted">
                Every series the query returns is one alert, with its labels. Evaluated by vmalert inside the
                cluster.
              </small>
            </div>
            <ThresholdRow draft={draft} set={set} />
            <PromqlPreview ctx={ctx} query={draft.query} op={draft.op} threshold={draft.threshold} />
          </>
        ) : (
          <>
            <div className="row">
              <label className="field">
                <span>Source</span>
                <select
                  value={draft.source}
                  onChange={(e) => {
                    const source = e.target.value as Draft['source'];
                    setDraft((d) => (d ? { ...d, source, groupBy: '', aggregate: 'count' } : d));
                  }}
                >
                  {SQL_SOURCES.map((s) => (
                    <option key={s} value={s}>
                      {s === 'events' ? 'Kubernetes events' : s}
                    </option>
                  ))}
                </select>
              </label>
              <label className="field">
                <span>Aggregate</span>
                <select
                  value={draft.aggregate}
                  onChange={(e) => set('aggregate', e.target.value as Draft['aggregate'])}
                >
                  <option value="count">count of rows</option>
                  {draft.source === 'traces' ? (
                    <>
                      <option value="avg">average span duration (ms)</option>
                      <option value="p99">p99 span duration (ms)</option>
                    </>
                  ) : null}
                </select>
              </label>
              <label className="field">
                <span>Window</span>
                <input value={draft.window} onChange={(e) => set('window', e.target.value)} size={6} />
              </label>
              <label className="field">
                <span>One alert per</span>
                <select value={draft.groupBy} onChange={(e) => set('groupBy', e.target.value)}>
                  <option value="">(one alert for all)</option>
                  {groupFields.map((g) => (
                    <option key={g} value={g}>
                      {g}
                    </option>
                  ))}
                </select>
              </label>
            </div>
            <label className="field">
              <span>Filter</span>
              <input
                className="mono"
                value={draft.filter}
                onChange={(e) => set('filter', e.target.value)}
                placeholder={FILTER_HINTS[draft.source]}
                spellCheck={false}
              />
              <small className="muted">
                The logs query language: free text, <code>field:value</code>, <code>-</code> to exclude,{' '}
                <code>attr.key:value</code>. Empty matches every row.
              </small>
            </label>
            <ThresholdRow draft={draft} set={set} />
            <p className="mon-sentence">
              Alert when the {draft.aggregate === 'count' ? 'number of' : `${draft.aggregate} duration of`}{' '}
              {draft.source === 'events' ? 'Kubernetes events' : draft.source} matching{' '}
              <code>{draft.filter || 'anything'}</code> in the last <strong>{draft.window || '?'}</strong>
              {draft.groupBy ? ` per ${draft.groupBy}` : ''} is <strong>{draft.op}</strong>{' '}
              <strong>{draft.threshold || '?'}</strong>.
            </p>
            <SqlDryRun ctx={ctx} draft={draft} />
            {draft.source === 'logs' ? (
              <SqlLogsPreview
                ctx={ctx}
                filter={draft.filter}
                windowSeconds={parseSeconds(draft.window)}
                op={draft.op}
                threshold={draft.threshold}
              />
            ) : null}
          </>
        )}
      </section>

      <section className="card panel" aria-labelledby="eval-h">
        <h3 id="eval-h">Evaluation and alert</h3>
        <div className="row">
          <label className="field grow">
            <span>Name</span>
            <input
              required
              maxLength={200}
              value={draft.name}
              onChange={(e) => set('name', e.target.value)}
            />
          </label>
          <label className="field">
            <span>Severity</span>
            <select
              value={draft.severity}
              onChange={(e) => set('severity', e.target.value as Draft['severity'])}
            >
              {SEVERITIES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Evaluate every</span>
            <input value={draft.interval} onChange={(e) => set('interval', e.target.value)} size={6} />
          </label>
          <label className="field">
            <span>For</span>
            <input
              value={draft.forDuration}
              onChange={(e) => set('forDuration', e.target.value)}
              size={6}
              aria-describedby="for-help"
            />
          </label>
          <label className="check mon-enabled">
            <input
              type="checkbox"
              checked={draft.enabled}
              onChange={(e) => set('enabled', e.target.checked)}
            />
            Enabled
          </label>
        </div>
        <small id="for-help" className="muted">
          Durations like 30s, 5m, 1h. The alert is pending until the condition has held for the “for”
          duration, then fires.
        </small>
        <LabelsEditor labels={draft.labels} onChange={(l) => set('labels', l)} />
        <div className="field">
          <label htmlFor="mon-message" className="field-label">
            Message
          </label>
          <textarea
            id="mon-message"
            rows={2}
            className="mon-message"
            value={draft.message}
            onChange={(e) => set('message', e.target.value)}
          />
          <div className="mon-placeholders">
            <span className="muted">Insert:</span>
            {PLACEHOLDERS.map((p) => (
              <button
                key={p}
                type="button"
                className="chip mon-placeholder"
                onClick={() =>
                  set('message', `${draft.message}${draft.message.endsWith(' ') ? '' : ' '}${p}`)
                }
              >
                {p}
              </button>
            ))}
            <span className="muted">and {'{{labels.NAME}}'}</span>
          </div>
        </div>
        <TargetChecks
          targets={targets.data?.targets ?? []}
          chosen={draft.targets}
          onChange={(t) => set('targets', t)}
        />
      </section>

      {problems.length > 0 ? (
        <div className="alert alert-error" role="alert">
          <ul className="mon-problems">
            {problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        </div>
      ) : null}
      <ErrorNote error={error} />
      <div className="row-actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? 'Saving…' : monitorId ? 'Save changes' : 'Create monitor'}
        </button>
        <a className="btn btn-ghost" href={back} onClick={linkClick}>
          Cancel
        </a>
      </div>
    </form>
  );
}

function ThresholdRow({
  draft,
  set,
}: {
  draft: Draft;
  set: <K extends keyof Draft>(k: K, v: Draft[K]) => void;
}) {
  return (
    <div className="row">
      <label className="field">
        <span>Alert when the value is</span>
        <select
          value={draft.op}
          onChange={(e) => set('op', e.target.value as Draft['op'])}
          aria-label="Comparison"
        >
          {COMPARISONS.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Threshold</span>
        <input
          inputMode="decimal"
          value={draft.threshold}
          onChange={(e) => set('threshold', e.target.value)}
          size={10}
          required
        />
      </label>
    </div>
  );
}

function LabelsEditor({
  labels,
  onChange,
}: {
  labels: Draft['labels'];
  onChange: (l: Draft['labels']) => void;
}) {
  return (
    <fieldset className="mon-labels-edit">
      <legend>Labels</legend>
      {labels.map((l, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: rows are edited in place; the index is their identity
        <div className="mon-label-row" key={i}>
          <input
            aria-label={`Label ${i + 1} name`}
            placeholder="team"
            value={l.key}
            onChange={(e) => onChange(labels.map((x, j) => (j === i ? { ...x, key: e.target.value } : x)))}
          />
          <span aria-hidden="true">=</span>
          <input
            aria-label={`Label ${i + 1} value`}
            placeholder="payments"
            value={l.value}
            onChange={(e) => onChange(labels.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)))}
          />
          <button
            type="button"
            className="btn btn-ghost btn-sm"
            aria-label={`Remove label ${l.key || i + 1}`}
            onClick={() => onChange(labels.filter((_, j) => j !== i))}
          >
            ✕
          </button>
        </div>
      ))}
      <button
        type="button"
        className="btn btn-ghost btn-sm"
        onClick={() => onChange([...labels, { key: '', value: '' }])}
        disabled={labels.length >= 20}
      >
        + Add label
      </button>
    </fieldset>
  );
}
