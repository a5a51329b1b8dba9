/** Sign in and sign up: one card, the mode in the URL (/signin, /signup). */
import { type FormEvent, useEffect, useState } from 'react';
import { endpoints, setCsrfToken } from '../api.ts';
import { linkClick, navigate } from '../router.ts';
import { ErrorNote } from '../ui.tsx';
import { useAction } from '../useAction.ts';
import { SsoSignIn } from './SsoSignIn.tsx';
import { ssoErrorMessage } from './ssoErrors.ts';
import './admin/admin.css';

export function AuthPage({
  mode,
  onSignedIn,
}: {
  mode: 'signin' | 'signup';
  onSignedIn: () => Promise<unknown>;
}) {
  const { busy, error, run } = useAction();
  // Back from a failed SSO sign-in (the edge's callback sends `?sso_error=<code>`): say why, with the SSO form
  // open to try again.
  const [ssoError] = useState(() => (mode === 'signin' ? ssoErrorMessage(location.search) : null));
  const [sso, setSso] = useState(ssoError !== null);
  useEffect(() => {
    // The message stays on the page; a reload or a copied address should not show it again.
    if (ssoError !== null) history.replaceState(history.state, '', '/signin');
  }, [ssoError]);
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const email = String(f.get('email') ?? '');
    const password = String(f.get('password') ?? '');
    void run(async () => {
      const res =
        mode === 'signup'
          ? await endpoints.signup({ email, password, name: String(f.get('name') ?? '') })
          : await endpoints.login({ email, password });
      setCsrfToken(res.csrfToken);
      navigate('/', true);
      await onSignedIn();
    });
  };
  const signup = mode === 'signup';
  return (
    <div className="auth-page">
      <div className="auth-card card">
        <div className="brand brand-lg">
          <span className="brand-mark" aria-hidden="true" />
          Understory
        </div>
        <h1>{signup ? 'Create your account' : sso ? 'Sign in with SSO' : 'Sign in'}</h1>
        <p className="muted">
          {signup
            ? 'See every request in your Kubernetes clusters, without changing your code.'
            : sso
              ? 'For organizations that sign in through their identity provider.'
              : 'Welcome back. Sign in to your organization.'}
        </p>
        {ssoError ? (
          <div className="alert alert-error" role="alert" data-testid="sso-error">
            {ssoError}
          </div>
        ) : null}
        {sso ? <SsoSignIn onBack={() => setSso(false)} /> : null}
        {sso ? null : (
          <form onSubmit={submit} className="form">
            {signup ? (
              <label className="field">
                <span>Name</span>
                <input name="name" autoComplete="name" required maxLength={100} />
              </label>
            ) : null}
            <label className="field">
              <span>Work email</span>
              <input name="email" type="email" autoComplete="email" required maxLength={254} />
            </label>
            <label className="field">
              <span>Password</span>
              <input
                name="password"
                type="password"
                autoComplete={signup ? 'new-password' : 'current-password'}
                required
                minLength={signup ? 10 : 1}
                maxLength={256}
              />
              {signup ? <small className="muted">At least 10 characters.</small> : null}
            </label>
            <ErrorNote error={error} />
            <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
              {busy ? 'Please wait...' : signup ? 'Create account' : 'Sign in'}
            </button>
          </form>
        )}
        {signup || sso ? null : (
          <>
            <div className="auth-divider">or</div>
            <button type="button" className="btn btn-secondary btn-block" onClick={() => setSso(true)}>
              Sign in with SSO
            </button>
          </>
        )}
        <p className="auth-switch muted">
          {signup ? 'Already have an account? ' : 'New to Understory? '}
          <a href={signup ? '/signin' : '/signup'} onClick={linkClick}>
            {signup ? 'Sign in' : 'Create an account'}
          </a>
        </p>
      </div>
    </div>
  );
}
