/** Create an organization: the first step after sign-up, and "+ New organization" in the switcher. */
import { type FormEvent, useState } from 'react';
import { endpoints, type Me } from '../api.ts';
import { linkClick, navigate } from '../router.ts';
import { ErrorNote, slugify } from '../ui.tsx';
import { useAction } from '../useAction.ts';

export function NewOrgPage({
  me,
  first,
  onCreated,
}: {
  me: Me;
  first: boolean;
  onCreated: () => Promise<unknown>;
}) {
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [slugEdited, setSlugEdited] = useState(false);
  const { busy, error, run } = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      const org = await endpoints.createOrg({ name, slug });
      // Reload the user's orgs first: the shell sends paths of unknown orgs to the first org.
      await onCreated();
      navigate(`/o/${org.slug}/clusters`, true);
    });
  };
  return (
    <div className="auth-page">
      <div className="auth-card card">
        <div className="brand brand-lg">
          <span className="brand-mark" aria-hidden="true" />
          Understory
        </div>
        <h1>{first ? `Welcome, ${me.user.name}` : 'New organization'}</h1>
        <p className="muted">
          An organization holds your clusters, members and API tokens. Name it after your team or company.
        </p>
        <form onSubmit={submit} className="form">
          <label className="field">
            <span>Organization name</span>
            <input
              name="orgName"
              required
              maxLength={100}
              value={name}
              onChange={(e) => {
                setName(e.target.value);
                if (!slugEdited) setSlug(slugify(e.target.value));
              }}
            />
          </label>
          <label className="field">
            <span>URL name</span>
            <input
              name="orgSlug"
              required
              minLength={2}
              maxLength={40}
              pattern="[a-z0-9]([a-z0-9-]*[a-z0-9])?"
              value={slug}
              onChange={(e) => {
                setSlugEdited(true);
                setSlug(e.target.value);
              }}
            />
            <small className="muted">Lower-case letters, digits and dashes: /o/{slug || 'acme'}</small>
          </label>
          <ErrorNote error={error} />
          <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
            {busy ? 'Creating...' : 'Create organization'}
          </button>
        </form>
        {first ? null : (
          <p className="auth-switch muted">
            <a href="/" onClick={linkClick}>
              Cancel
            </a>
          </p>
        )}
      </div>
    </div>
  );
}
