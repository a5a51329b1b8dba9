/**
 * Silences: while one is active, alert transitions whose labels equal all its matchers are recorded as
 * `silenced` and nobody is notified. Listed active first, then scheduled, then ended; editors add one (matchers
 * such as `understory_monitor=<id>` or `namespace=shop`, a duration or an end time, a comment) and end one early.
 * `monitor` in the URL prefills the matcher for that monitor.
 */
import { type FormEvent, useState } from 'react';
import { endpoints, type Member } from '../../api.ts';
import { type DataContext, DataError } from '../../DataPage.tsx';
import { useSearch } from '../../router.ts';
import { EmptyState, ErrorNote, relativeTime, TableSkeleton } from '../../ui.tsx';
import { useAction } from '../../useAction.ts';
import { useLoad } from '../../useLoad.ts';
import { canEdit } from './MonitorsPage.tsx';
import { MONITOR_LABEL, monitorsApi, type Silence, silenceActive } from './monitorsApi.ts';

const DURATIONS = [
  { label: '1 hour', ms: 3_600_000 },
  { label: '4 hours', ms: 4 * 3_600_000 },
  { label: '1 day', ms: 86_400_000 },
  { label: '1 week', ms: 7 * 86_400_000 },
];

type Status = 'active' | 'scheduled' | 'ended';
const status = (s: Silence, now: number): Status =>
  silenceActive(s, now) ? 'active' : s.startsAt > now ? 'scheduled' : 'ended';
const ORDER: Record<Status, number> = { active: 0, scheduled: 1, ended: 2 };

export function SilencesView({ ctx }: { ctx: DataContext }) {
  const { ref, org } = ctx;
  const editor = canEdit(org);
  const { data, error, loading, reload } = useLoad(async () => {
    const [s, m, people] = await Promise.all([
      monitorsApi.silences(ref),
      monitorsApi.list(ref),
      // Only to name who added a silence (`user:<id>`): the list still shows without it.
      endpoints.members(org.id).catch(() => ({ members: [] as Member[] })),
    ]);
    return { silences: s.silences, monitors: m.monitors, members: people.members, now: Date.now() };
  }, ref.clusterId);
  const ending = useAction();
  const monitorName = (id: string) => data?.monitors.find((m) => m.id === id)?.name;
  const author = (by: string) => {
    const member = data?.members.find((m) => `user:${m.userId}` === by);
    return member ? member.name || member.email : by.startsWith('token:') ? 'an API token' : by || '-';
  };
  const end = (s: Silence) =>
    ending.run(async () => {
      await monitorsApi.endSilence(ref, s.id);
      await reload();
    });
  const rows = [...(data?.silences ?? [])].sort(
    (a, b) => ORDER[status(a, data!.now)] - ORDER[status(b, data!.now)] || b.endsAt - a.endsAt,
  );
  return (
    <>
      {editor && data ? <SilenceForm ctx={ctx} monitors={data.monitors} onDone={reload} /> : null}
      <DataError error={error} onRetry={reload} />
      <ErrorNote error={ending.error} />
      {loading && !data ? <TableSkeleton rows={3} label="Loading silences" /> : null}
      {data && rows.length === 0 ? (
        <EmptyState icon="◑" title="No silences">
          <p>
            Silence notifications during maintenance or while someone works on a known problem. Alerts are
            still recorded; nobody is paged.
          </p>
        </EmptyState>
      ) : null}
      {rows.length > 0 ? (
        <div className="card table-card">
          <table className="table data-table">
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Matches</th>
                <th scope="col">From</th>
                <th scope="col">Until</th>
                <th scope="col">Comment</th>
                <th scope="col">By</th>
                {editor ? (
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {rows.map((s) => {
                const st = status(s, data!.now);
                return (
                  <tr key={s.id} data-silence-row={st}>
                    <td>
                      <span className={`mon-sil mon-sil-${st}`}>{st}</span>
                    </td>
                    <td className="cell-wrap">
                      {Object.entries(s.matchers).map(([k, v]) => (
                        <span key={k} className="mon-label">
                          {k === MONITOR_LABEL ? (
                            <>
                              <span className="mon-label-k">monitor</span>=
                              <span className="mon-label-v">{monitorName(v) ?? v}</span>
                            </>
                          ) : (
                            <>
                              <span className="mon-label-k">{k}</span>=
                              <span className="mon-label-v">{v}</span>
                            </>
                          )}
                        </span>
                      ))}
                    </td>
                    <td title={new Date(s.startsAt).toLocaleString()}>
                      {relativeTime(s.startsAt, data!.now)}
                    </td>
                    <td title={new Date(s.endsAt).toLocaleString()}>{relativeTime(s.endsAt, data!.now)}</td>
                    <td className="cell-wrap">{s.comment || <span className="muted">-</span>}</td>
                    <td className="muted" title={s.createdBy}>
                      {author(s.createdBy)}
                    </td>
                    {editor ? (
                      <td className="actions">
                        {st !== 'ended' ? (
                          <button
                            type="button"
                            className="btn btn-ghost btn-sm"
                            aria-label={`End silence ${s.comment || s.id}`}
                            disabled={ending.busy}
                            onClick={() => end(s)}
                          >
                            End now
                          </button>
                        ) : null}
                      </td>
                    ) : null}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}

function SilenceForm(props: {
  ctx: DataContext;
  monitors: { id: string; name: string }[];
  onDone: () => unknown;
}) {
  const { ctx, monitors, onDone } = props;
  const prefill = new URLSearchParams(useSearch()).get('monitor') ?? '';
  const [matchers, setMatchers] = useState<{ name: string; value: string }[]>([
    { name: MONITOR_LABEL, value: prefill },
  ]);
  const { busy, error, run } = useAction();
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const ms = Number(f.get('duration'));
    const now = Date.now();
    void run(async () => {
      await monitorsApi.createSilence(ctx.ref, {
        matchers: Object.fromEntries(matchers.filter((m) => m.name && m.value).map((m) => [m.name, m.value])),
        startsAt: now,
        endsAt: now + ms,
        comment: String(f.get('comment') ?? ''),
      });
      form.reset();
      setMatchers([{ name: MONITOR_LABEL, value: '' }]);
      await onDone();
    });
  };
  return (
    <form className="card panel form" onSubmit={submit} aria-labelledby="silence-form-h">
      <h2 id="silence-form-h">Add a silence</h2>
      <fieldset className="mon-labels-edit">
        <legend>Alerts whose labels equal all of</legend>
        {matchers.map((m, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: rows are edited in place
          <div className="mon-label-row" key={i}>
            <input
              aria-label={`Matcher ${i + 1} label`}
              value={m.name}
              onChange={(e) =>
                setMatchers(matchers.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)))
              }
            />
            <span aria-hidden="true">=</span>
            {m.name === MONITOR_LABEL ? (
              <select
                aria-label={`Matcher ${i + 1} monitor`}
                value={m.value}
                required
                onChange={(e) =>
                  setMatchers(matchers.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)))
                }
              >
                <option value="">Choose a monitor…</option>
                {monitors.map((x) => (
                  <option key={x.id} value={x.id}>
                    {x.name}
                  </option>
                ))}
              </select>
            ) : (
              <input
                aria-label={`Matcher ${i + 1} value`}
                value={m.value}
                required
                onChange={(e) =>
                  setMatchers(matchers.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)))
                }
              />
            )}
            <button
              type="button"
              className="btn btn-ghost btn-sm"
              aria-label={`Remove matcher ${i + 1}`}
              disabled={matchers.length === 1}
              onClick={() => setMatchers(matchers.filter((_, j) => j !== i))}
            >
              ✕
            </button>
          </div>
        ))}
        <button
          type="button"
          className="btn btn-ghost btn-sm"
          onClick={() => setMatchers([...matchers, { name: '', value: '' }])}
          disabled={matchers.length >= 20}
        >
          + Add matcher
        </button>
      </fieldset>
      <div className="row">
        <label className="field">
          <span>For</span>
          <select name="duration" defaultValue={String(DURATIONS[1]!.ms)}>
            {DURATIONS.map((d) => (
              <option key={d.ms} value={d.ms}>
                {d.label}
              </option>
            ))}
          </select>
        </label>
        <label className="field grow">
          <span>Comment</span>
          <input name="comment" maxLength={1000} placeholder="Deploying the new checkout; ticket OPS-123" />
        </label>
        <div className="row-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? 'Adding…' : 'Add silence'}
          </button>
        </div>
      </div>
      <ErrorNote error={error} />
    </form>
  );
}
