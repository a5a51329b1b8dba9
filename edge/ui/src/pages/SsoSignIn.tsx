/**
 * "Sign in with SSO": the work email decides the organization (the one that verified its domain); the browser
 * then goes to the organization's identity provider and comes back signed in (edge/src/routes/sso.ts).
 *
 * The start URL is asked first without following its redirect, so "no organization uses SSO for this domain"
 * shows here, in the form, instead of as a bare error page; the answer that is a redirect is then followed by
 * a real navigation (a fetched redirect cannot set the state cookie of a top-level visit).
 */
import { type FormEvent, useEffect, useRef } from 'react';
import { ErrorNote } from '../ui.tsx';
import { LEAVING_PAGE, useAction } from '../useAction.ts';

export function ssoStartUrl(email: string): string {
  return `/api/sso/start?email=${encodeURIComponent(email)}`;
}

export function SsoSignIn({ onBack }: { onBack: () => void }) {
  const { busy, error, run } = useAction();
  const emailRef = useRef<HTMLInputElement>(null);
  // The user asked for this form with the button that it replaces: the focus moves into it, not to the page.
  useEffect(() => emailRef.current?.focus(), []);
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const email = String(new FormData(e.currentTarget).get('email') ?? '').trim();
    void run(async () => {
      const res = await fetch(ssoStartUrl(email), { redirect: 'manual', credentials: 'same-origin' }).catch(
        (err: Error) => {
          throw new Error(`cannot reach the server: ${err.message}`);
        },
      );
      if (res.type === 'opaqueredirect' || (res.status >= 300 && res.status < 400)) {
        location.assign(ssoStartUrl(email));
        return LEAVING_PAGE;
      }
      const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
      throw new Error(body?.error?.message ?? `cannot start SSO (${res.status})`);
    });
  };
  return (
    <form onSubmit={submit} className="form" aria-label="Sign in with SSO">
      <label className="field">
        <span>Work email</span>
        <input name="email" type="email" autoComplete="email" required maxLength={254} ref={emailRef} />
        <small className="muted">We send you to your company&apos;s identity provider.</small>
      </label>
      <ErrorNote error={error} />
      <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
        {busy ? 'Redirecting...' : 'Continue with SSO'}
      </button>
      <button type="button" className="btn btn-ghost btn-block" onClick={onBack}>
        Use a password instead
      </button>
    </form>
  );
}
