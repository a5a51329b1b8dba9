/** Personal API tokens: create (shown once), list, revoke. */
import { type FormEvent, useState } from 'react';
import { type CreatedToken, endpoints, type OrgRef } from '../api.ts';
import { CopyBlock, EmptyState, ErrorNote, relativeTime, Spinner } from '../ui.tsx';
import { useLoad } from '../useLoad.ts';

const SCOPES = [
  { value: 'read', label: 'Read', hint: 'read clusters and data' },
  { value: 'write', label: 'Write', hint: 'also register clusters' },
  { value: 'admin', label: 'Admin', hint: 'also delete and manage' },
  { value: 'ingest', label: 'Ingest', hint: 'send data only' },
];

export function TokensPage({ org }: { org: OrgRef }) {
  const { data, error, loading, reload, setData } = useLoad(() => endpoints.tokens(org.id), org.id);
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [revoking, setRevoking] = useState<string | null>(null);
  const revoke = async (id: string, name: string) => {
    if (!window.confirm(`Revoke the token “${name}”? Programs using it stop working at once.`)) return;
    setRevoking(id);
    setActionError(null);
    try {
      await endpoints.revokeToken(org.id, id);
      // A revoked secret is useless: stop showing it. The row says "revoked" at once (the API has answered);
      // the reload then shows the server's own record.
      setCreated((c) => (c?.id === id ? null : c));
      const revokedAt = Date.now();
      setData((d) => d && { tokens: d.tokens.map((t) => (t.id === id ? { ...t, revokedAt } : t)) });
      await reload();
    } catch (err) {
      setActionError(err);
    } finally {
      setRevoking(null);
    }
  };
  const tokens = data?.tokens ?? [];
  return (
    <div className="page">
      <div className="page-head">
        <p className="muted">
          Tokens let scripts and CI call the API as you, within the scopes you give them.
        </p>
      </div>
      <NewTokenForm
        orgId={org.id}
        onCreated={async (t) => {
          setCreated(t);
          await reload();
        }}
      />
      {created ? (
        <section className="card panel" aria-label="New token">
          <div className="alert alert-warn">Copy the token now: it is shown only once.</div>
          <CopyBlock label={`Token “${created.name}”`} value={created.token} testId="new-token" />
          <button type="button" className="btn btn-secondary" onClick={() => setCreated(null)}>
            Done
          </button>
        </section>
      ) : null}
      <ErrorNote error={error || actionError} />
      {loading && !data ? <Spinner label="Loading tokens" /> : null}
      {data && tokens.length === 0 ? (
        <EmptyState icon="⚿" title="No API tokens">
          Create one above to use the API from scripts, CI or Prometheus tools.
        </EmptyState>
      ) : null}
      {tokens.length > 0 ? (
        <div className="card table-card">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Token</th>
                <th scope="col">Scopes</th>
                <th scope="col">Last used</th>
                <th scope="col">Expires</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tokens.map((t) => (
                <tr key={t.id} data-token-row={t.name}>
                  <td className="strong">{t.name}</td>
                  <td>
                    <code className="mono muted">{t.displayPrefix}...</code>
                  </td>
                  <td>
                    {t.scopes.map((s) => (
                      <span key={s} className="chip">
                        {s}
                      </span>
                    ))}
                  </td>
                  <td>{relativeTime(t.lastUsedAt)}</td>
                  <td>{t.expiresAt === null ? 'never' : relativeTime(t.expiresAt)}</td>
                  <td>
                    {t.revokedAt !== null ? (
                      <span className="badge badge-disconnected">revoked</span>
                    ) : t.expiresAt !== null && t.expiresAt < Date.now() ? (
                      <span className="badge badge-pending">expired</span>
                    ) : (
                      <span className="badge badge-connected">active</span>
                    )}
                  </td>
                  <td className="actions">
                    {t.revokedAt === null ? (
                      <button
                        type="button"
                        className="btn btn-danger btn-sm"
                        disabled={revoking === t.id}
                        onClick={() => revoke(t.id, t.name)}
                        aria-label={`Revoke ${t.name}`}
                      >
                        Revoke
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}

function NewTokenForm({
  orgId,
  onCreated,
}: {
  orgId: string;
  onCreated: (t: CreatedToken) => Promise<void>;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const days = String(f.get('expires') ?? '');
    setBusy(true);
    setError(null);
    try {
      const t = await endpoints.createToken(orgId, {
        name: String(f.get('tokenName') ?? ''),
        scopes: [String(f.get('scope') ?? 'read')],
        ...(days ? { expiresInDays: Number(days) } : {}),
      });
      form.reset();
      await onCreated(t);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card panel form" onSubmit={submit} aria-labelledby="new-token-title">
      <h2 id="new-token-title">Create a token</h2>
      <div className="row">
        <label className="field grow">
          <span>Name</span>
          <input name="tokenName" required maxLength={100} placeholder="ci-deploy" />
        </label>
        <label className="field">
          <span>Scope</span>
          <select name="scope" defaultValue="read">
            {SCOPES.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}: {s.hint}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Expires</span>
          <select name="expires" defaultValue="90">
            <option value="30">in 30 days</option>
            <option value="90">in 90 days</option>
            <option value="365">in a year</option>
            <option value="">never</option>
          </select>
        </label>
        <div className="row-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? 'Creating...' : 'Create token'}
          </button>
        </div>
      </div>
      <ErrorNote error={error} />
    </form>
  );
}
