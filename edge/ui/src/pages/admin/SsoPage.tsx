/**
 * Single sign-on settings (admins): the organization's OpenID Connect provider and the email domains whose
 * users sign in through it. A domain counts only once a DNS TXT record proves the organization controls it;
 * then "Sign in with SSO" on the sign-in page sends those users to the provider, and their first sign-in
 * makes them members with the default role.
 */
import { type FormEvent, useState } from 'react';
import { adminEndpoints, type OrgRef, type SsoDomain, type SsoSettings } from '../../api.ts';
import { CopyBlock, ErrorNote, Spinner } from '../../ui.tsx';
import { useAction } from '../../useAction.ts';
import { useLoad } from '../../useLoad.ts';
import './admin.css';

const ROLES = ['viewer', 'editor', 'admin'];

export function SsoPage({ org }: { org: OrgRef }) {
  const { data, error, loading, setData } = useLoad(() => adminEndpoints.sso(org.id), org.id);
  if (loading && !data) return <Spinner label="Loading SSO settings" />;
  if (!data) return <ErrorNote error={error} />;
  return (
    <div className="page">
      <div className="page-head">
        <p className="muted">
          Let people sign in with your identity provider (Okta, Entra ID, Google Workspace, Keycloak or any
          OpenID Connect provider). First sign-ins become members automatically.
        </p>
      </div>
      <div className="sso-grid">
        <ProviderForm orgId={org.id} settings={data} onSaved={setData} />
        <section className="card panel" aria-labelledby="sso-how">
          <h2 id="sso-how">Setting it up</h2>
          <ol className="sso-steps">
            <li>
              In your identity provider, create an OpenID Connect web application with the redirect URI{' '}
              <code className="mono">{location.origin}/api/sso/callback</code>.
            </li>
            <li>
              Enter its <strong>issuer URL</strong>, <strong>client ID</strong> and{' '}
              <strong>client secret</strong> here and turn SSO on.
            </li>
            <li>
              Add your email domain and publish the <strong>TXT record</strong> shown, then verify it.
            </li>
            <li>
              People with that domain choose <strong>Sign in with SSO</strong> on the sign-in page.
            </li>
          </ol>
        </section>
      </div>
      <Domains orgId={org.id} domains={data.domains} onChange={(domains) => setData({ ...data, domains })} />
    </div>
  );
}

function ProviderForm({
  orgId,
  settings,
  onSaved,
}: {
  orgId: string;
  settings: SsoSettings;
  onSaved: (s: SsoSettings) => void;
}) {
  const config = settings.config;
  const { busy, error, run } = useAction();
  const [saved, setSaved] = useState(false);
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const secret = String(f.get('clientSecret') ?? '');
    setSaved(false);
    void run(async () => {
      const next = await adminEndpoints.configureSso(orgId, {
        issuer: String(f.get('issuer') ?? '').trim(),
        clientId: String(f.get('clientId') ?? '').trim(),
        // Left empty: keep the stored secret (the API never sends it back).
        ...(secret ? { clientSecret: secret } : {}),
        defaultRole: String(f.get('defaultRole') ?? 'viewer'),
        enabled: f.get('enabled') === 'on',
      });
      onSaved(next);
      setSaved(true);
      // The secret is stored now: do not keep it in the page.
      const secretInput = form.elements.namedItem('clientSecret');
      if (secretInput instanceof HTMLInputElement) secretInput.value = '';
    });
  };
  return (
    <form className="card panel form" onSubmit={submit} aria-labelledby="sso-provider">
      <div className="sso-status">
        <h2 id="sso-provider">Identity provider</h2>
        <span
          className={config?.enabled ? 'badge badge-connected' : 'badge badge-neutral'}
          data-testid="sso-state"
        >
          {config?.enabled ? 'on' : config ? 'off' : 'not set up'}
        </span>
      </div>
      <label className="field">
        <span>Issuer URL</span>
        <input
          name="issuer"
          type="url"
          required
          maxLength={500}
          defaultValue={config?.issuer ?? ''}
          placeholder="https://login.example.com"
        />
      </label>
      <div className="row">
        <label className="field grow">
          <span>Client ID</span>
          <input name="clientId" required maxLength={200} defaultValue={config?.clientId ?? ''} />
        </label>
        <label className="field grow">
          <span>Client secret</span>
          <input
            name="clientSecret"
            type="password"
            autoComplete="off"
            maxLength={500}
            placeholder={config?.hasClientSecret ? 'stored (leave empty to keep it)' : ''}
          />
        </label>
      </div>
      <div className="row">
        <label className="field">
          <span>Role of new members</span>
          <select name="defaultRole" defaultValue={config?.defaultRole ?? 'viewer'}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label className="check">
          <input name="enabled" type="checkbox" defaultChecked={config?.enabled ?? true} />
          Allow sign-in with SSO
        </label>
      </div>
      <ErrorNote error={error} />
      {saved ? (
        <div className="alert alert-ok" role="status">
          Saved.
        </div>
      ) : null}
      <div className="row-actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? 'Saving...' : 'Save provider'}
        </button>
      </div>
    </form>
  );
}

function Domains({
  orgId,
  domains,
  onChange,
}: {
  orgId: string;
  domains: SsoDomain[];
  onChange: (d: SsoDomain[]) => void;
}) {
  /** Adding, verifying or removing a domain, one at a time; the list changes with the answer. */
  const { busy, error, run } = useAction();
  const act = (fn: () => Promise<SsoDomain[]>) => run(async () => onChange(await fn()));
  const add = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const domain = String(new FormData(form).get('domain') ?? '')
      .trim()
      .toLowerCase();
    void act(async () => {
      const d = await adminEndpoints.addSsoDomain(orgId, domain);
      form.reset();
      return [...domains, d];
    });
  };
  return (
    <section className="card panel" aria-labelledby="sso-domains">
      <h2 id="sso-domains">Email domains</h2>
      <form className="row" onSubmit={add}>
        <label className="field grow">
          <span>Domain</span>
          <input name="domain" required maxLength={253} placeholder="example.com" />
        </label>
        <div className="row-actions">
          <button type="submit" className="btn btn-secondary" disabled={busy}>
            Add domain
          </button>
        </div>
      </form>
      <ErrorNote error={error} />
      {domains.length === 0 ? (
        <p className="muted">No domains yet. SSO applies to the email domains you add and verify here.</p>
      ) : (
        <div className="table-card">
          <table className="table" aria-label="Email domains">
            <thead>
              <tr>
                <th scope="col">Domain</th>
                <th scope="col">Status</th>
                <th scope="col">DNS record to publish</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {domains.map((d) => (
                <tr key={d.domain} data-domain-row={d.domain}>
                  <td className="strong">{d.domain}</td>
                  <td>
                    <span className={d.verified ? 'badge badge-connected' : 'badge badge-pending'}>
                      {d.verified ? 'verified' : 'unverified'}
                    </span>
                  </td>
                  <td className="domain-record">
                    {d.verified ? (
                      <span className="muted">People with this email domain can sign in with SSO.</span>
                    ) : (
                      <CopyBlock
                        label={`TXT ${d.record.name}`}
                        value={d.record.value}
                        testId={`txt-${d.domain}`}
                      />
                    )}
                  </td>
                  <td className="actions">
                    {d.verified ? null : (
                      <button
                        type="button"
                        className="btn btn-primary btn-sm"
                        disabled={busy}
                        onClick={() =>
                          act(async () => {
                            const v = await adminEndpoints.verifySsoDomain(orgId, d.domain);
                            return domains.map((x) => (x.domain === v.domain ? v : x));
                          })
                        }
                      >
                        Verify
                      </button>
                    )}
                    <button
                      type="button"
                      className="btn btn-ghost btn-sm"
                      disabled={busy}
                      aria-label={`Remove ${d.domain}`}
                      onClick={() => {
                        if (!window.confirm(`Stop using SSO for ${d.domain}?`)) return;
                        void act(async () => {
                          await adminEndpoints.removeSsoDomain(orgId, d.domain);
                          return domains.filter((x) => x.domain !== d.domain);
                        });
                      }}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
