/**
 * Notification targets: generic JSON webhooks and Slack incoming webhooks. The URL and header values are
 * secrets: they go to the cluster and are never answered back by any API, so this page shows only the host and
 * the header names, and the fields are write-only (password inputs, cleared after saving). Changing a target
 * means sending its URL again ("Replace").
 */
import { type FormEvent, useState } from 'react';
import { type DataContext, DataError } from '../../DataPage.tsx';
import { EmptyState, ErrorNote, TableSkeleton } from '../../ui.tsx';
import { useAction } from '../../useAction.ts';
import { useLoad } from '../../useLoad.ts';
import { canEdit } from './MonitorsPage.tsx';
import { monitorsApi, type TargetView } from './monitorsApi.ts';
import { TargetTestButton } from './TargetTestButton.tsx';

export function TargetsView({ ctx }: { ctx: DataContext }) {
  const { ref, org } = ctx;
  const editor = canEdit(org);
  const { data, error, loading, reload } = useLoad(async () => {
    const [t, m] = await Promise.all([monitorsApi.targets(ref), monitorsApi.list(ref)]);
    return { targets: t.targets, monitors: m.monitors };
  }, ref.clusterId);
  const [editing, setEditing] = useState<TargetView | null>(null);
  const removing = useAction();
  const [saved, setSaved] = useState<string | null>(null);
  const users = (id: string) => (data?.monitors ?? []).filter((m) => m.targets.includes(id));
  const remove = (t: TargetView) => {
    if (!window.confirm(`Delete the notification target “${t.name}”?`)) return;
    void removing.run(async () => {
      await monitorsApi.removeTarget(ref, t.id);
      await reload();
    });
  };
  const targets = data?.targets ?? [];
  return (
    <>
      {editor ? (
        <TargetForm
          ctx={ctx}
          editing={editing}
          key={editing?.id ?? 'new'}
          onDone={async (name) => {
            setEditing(null);
            setSaved(name);
            await reload();
          }}
          onCancel={() => setEditing(null)}
        />
      ) : null}
      {saved ? (
        <div className="alert mon-saved" role="status">
          Saved “{saved}”. Its URL and header values are kept in the cluster and are never shown again.
        </div>
      ) : null}
      <DataError error={error} onRetry={reload} />
      <ErrorNote error={removing.error} />
      {loading && !data ? <TableSkeleton rows={3} label="Loading notification targets" /> : null}
      {data && targets.length === 0 ? (
        <EmptyState icon="✉" title="No notification targets">
          <p>
            Alerts are recorded and shown here either way. Add a Slack incoming webhook or any HTTPS endpoint
            to be told when a monitor fires and when it resolves.
          </p>
          {editor ? null : <p className="muted">Ask an editor to add one.</p>}
        </EmptyState>
      ) : null}
      {targets.length > 0 ? (
        <div className="card table-card">
          <table className="table data-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">Sends to</th>
                <th scope="col">Headers</th>
                <th scope="col">Used by</th>
                {editor ? (
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {targets.map((t) => {
                const used = users(t.id);
                return (
                  <tr key={t.id} data-target-row={t.name}>
                    <td className="strong">{t.name}</td>
                    <td>
                      <span className={`mon-type mon-type-${t.type}`}>
                        {t.type === 'slack' ? 'Slack' : 'Webhook'}
                      </span>
                    </td>
                    <td>
                      <span className="mono">{t.host}</span>{' '}
                      <span className="mon-secret muted">URL hidden</span>
                    </td>
                    <td>
                      {t.headerNames.length === 0 ? (
                        <span className="muted">-</span>
                      ) : (
                        t.headerNames.map((h) => (
                          <span key={h} className="chip" title="value hidden">
                            {h}: ••••
                          </span>
                        ))
                      )}
                    </td>
                    <td className="cell-wrap">
                      {used.length === 0 ? (
                        <span className="muted">no monitor</span>
                      ) : (
                        used.map((m) => m.name).join(', ')
                      )}
                    </td>
                    {editor ? (
                      <td className="actions">
                        <TargetTestButton clusterRef={ref} target={t} />
                        <button
                          type="button"
                          className="btn btn-ghost btn-sm"
                          aria-label={`Replace ${t.name}`}
                          onClick={() => {
                            setSaved(null);
                            setEditing(t);
                          }}
                        >
                          Replace
                        </button>
                        <button
                          type="button"
                          className="btn btn-danger btn-sm"
                          aria-label={`Delete ${t.name}`}
                          disabled={used.length > 0 || removing.busy}
                          title={used.length > 0 ? 'Used by a monitor: remove it there first' : undefined}
                          onClick={() => remove(t)}
                        >
                          Delete
                        </button>
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

function TargetForm(props: {
  ctx: DataContext;
  editing: TargetView | null;
  onDone: (name: string) => Promise<void>;
  onCancel: () => void;
}) {
  const { ctx, editing, onDone, onCancel } = props;
  const [type, setType] = useState<'webhook' | 'slack'>(editing?.type ?? 'webhook');
  const [headers, setHeaders] = useState<{ name: string; value: string }[]>(
    editing ? editing.headerNames.map((name) => ({ name, value: '' })) : [],
  );
  const { busy, error, run } = useAction();
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const body = {
      name: String(f.get('targetName') ?? ''),
      type,
      url: String(f.get('targetUrl') ?? ''),
      headers: Object.fromEntries(headers.filter((h) => h.name).map((h) => [h.name, h.value])),
    };
    void run(async () => {
      if (editing) await monitorsApi.replaceTarget(ctx.ref, editing.id, body);
      else await monitorsApi.createTarget(ctx.ref, body);
      // The secret leaves the page with the request: nothing of it stays in the form.
      form.reset();
      setHeaders([]);
      await onDone(body.name);
    });
  };
  return (
    <form className="card panel form" onSubmit={submit} aria-labelledby="target-form-h" autoComplete="off">
      <h2 id="target-form-h">{editing ? `Replace “${editing.name}”` : 'Add a notification target'}</h2>
      {editing ? (
        <p className="muted">
          The URL and header values are never shown back: enter them again to keep them, or new ones to change
          them.
        </p>
      ) : null}
      <div className="row">
        <label className="field">
          <span>Name</span>
          <input
            name="targetName"
            required
            maxLength={200}
            defaultValue={editing?.name}
            placeholder="ops-oncall"
          />
        </label>
        <label className="field">
          <span>Type</span>
          <select value={type} onChange={(e) => setType(e.target.value as 'webhook' | 'slack')}>
            <option value="webhook">Webhook (JSON)</option>
            <option value="slack">Slack incoming webhook</option>
          </select>
        </label>
        <label className="field grow">
          <span>URL (write-only)</span>
          <input
            name="targetUrl"
            type="password"
            required
            maxLength={2000}
            autoComplete="off"
            pattern="https?://.+"
            placeholder={
              type === 'slack' ? 'https://hooks.slack.com/services/…' : 'https://alerts.example.com/hook'
            }
            title="an http(s) URL"
          />
        </label>
      </div>
      <fieldset className="mon-labels-edit">
        <legend>Headers (values are write-only)</legend>
        {headers.map((h, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: rows are edited in place
          <div className="mon-label-row" key={i}>
            <input
              aria-label={`Header ${i + 1} name`}
              placeholder="Authorization"
              pattern="[A-Za-z0-9-]{1,64}"
              value={h.name}
              onChange={(e) =>
                setHeaders(headers.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)))
              }
            />
            <span aria-hidden="true">:</span>
            <input
              aria-label={`Header ${i + 1} value`}
              type="password"
              autoComplete="off"
              required={h.name !== ''}
              placeholder="Bearer …"
              value={h.value}
              onChange={(e) =>
                setHeaders(headers.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)))
              }
            />
            <button
              type="button"
              className="btn btn-ghost btn-sm"
              aria-label={`Remove header ${h.name || i + 1}`}
              onClick={() => setHeaders(headers.filter((_, j) => j !== i))}
            >
              ✕
            </button>
          </div>
        ))}
        <button
          type="button"
          className="btn btn-ghost btn-sm"
          disabled={headers.length >= 10}
          onClick={() => setHeaders([...headers, { name: '', value: '' }])}
        >
          + Add header
        </button>
      </fieldset>
      <ErrorNote error={error} />
      <div className="row-actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? 'Saving…' : editing ? 'Replace target' : 'Add target'}
        </button>
        {editing ? (
          <button type="button" className="btn btn-ghost" onClick={onCancel}>
            Cancel
          </button>
        ) : null}
      </div>
    </form>
  );
}
