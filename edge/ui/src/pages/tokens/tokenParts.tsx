/**
 * Pieces shared by personal API tokens and service-account tokens: the create form, the shown-once panel and
 * the table with revoke.
 */
import type { FormEvent } from 'react';
import type { ApiToken, CreatedToken } from '../../api.ts';
import { CopyBlock, ErrorNote, relativeTime } from '../../ui.tsx';
import { useAction } from '../../useAction.ts';

/** Token scopes: what a token may do (the API's permission table, edge/src/permissions.ts). */
export const SCOPES = [
  { value: 'read', label: 'Read', hint: 'read clusters and data' },
  { value: 'write', label: 'Write', hint: 'also register clusters' },
  { value: 'admin', label: 'Admin', hint: 'also delete and manage' },
  { value: 'ingest', label: 'Ingest', hint: 'send data only' },
];

export interface NewToken {
  name: string;
  scopes: string[];
  expiresInDays?: number;
}

export function NewTokenForm({
  title,
  idPrefix,
  defaultScope = 'read',
  create,
  onCreated,
}: {
  title: string;
  /** Keeps labels unique when several forms share a page. */
  idPrefix: string;
  defaultScope?: string;
  create: (t: NewToken) => Promise<CreatedToken>;
  onCreated: (t: CreatedToken) => Promise<void>;
}) {
  const { busy, error, run } = useAction();
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const days = String(f.get('expires') ?? '');
    void run(async () => {
      const t = await create({
        name: String(f.get('tokenName') ?? ''),
        scopes: [String(f.get('scope') ?? defaultScope)],
        ...(days ? { expiresInDays: Number(days) } : {}),
      });
      form.reset();
      await onCreated(t);
    });
  };
  return (
    <form className="form" onSubmit={submit} aria-labelledby={`${idPrefix}-title`}>
      <h2 id={`${idPrefix}-title`}>{title}</h2>
      <div className="row">
        <label className="field grow">
          <span>Name</span>
          <input name="tokenName" required maxLength={100} placeholder="ci-deploy" />
        </label>
        <label className="field">
          <span>Scope</span>
          <select name="scope" defaultValue={defaultScope}>
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

/** The secret of a token just created: shown once, with a copy button. */
export function CreatedTokenPanel({ token, onDone }: { token: CreatedToken; onDone: () => void }) {
  return (
    <section className="card panel" aria-label="New token">
      <div className="alert alert-warn">Copy the token now: it is shown only once.</div>
      <CopyBlock label={`Token “${token.name}”`} value={token.token} testId="new-token" />
      <button type="button" className="btn btn-secondary" onClick={onDone}>
        Done
      </button>
    </section>
  );
}

export function tokenStatus(t: ApiToken, now = Date.now()): 'revoked' | 'expired' | 'active' {
  if (t.revokedAt !== null) return 'revoked';
  if (t.expiresAt !== null && t.expiresAt < now) return 'expired';
  return 'active';
}

const STATUS_BADGE = {
  revoked: 'badge badge-disconnected',
  expired: 'badge badge-pending',
  active: 'badge badge-connected',
};

export function TokenTable({
  tokens,
  revoking,
  onRevoke,
  label,
}: {
  tokens: ApiToken[];
  /** What the owner is running (the id of a token being revoked, or another action): every Revoke waits. */
  revoking: string | null;
  onRevoke: (t: ApiToken) => void;
  label: string;
}) {
  return (
    <table className="table" aria-label={label}>
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
        {tokens.map((t) => {
          const status = tokenStatus(t);
          return (
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
                <span className={STATUS_BADGE[status]}>{status}</span>
              </td>
              <td className="actions">
                {t.revokedAt === null ? (
                  <button
                    type="button"
                    className="btn btn-danger btn-sm"
                    disabled={revoking !== null}
                    onClick={() => onRevoke(t)}
                    aria-label={`Revoke ${t.name}`}
                  >
                    {revoking === t.id ? 'Revoking...' : 'Revoke'}
                  </button>
                ) : null}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
