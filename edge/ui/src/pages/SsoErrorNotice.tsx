/**
 * Why a single sign-on attempt failed, for someone who was already signed in. The edge sends every failed SSO
 * start or callback to `/signin?sso_error=<code>`; a signed-out visitor reads the message on the sign-in page
 * (AuthPage), but a signed-in one is sent straight on to their organization, so the page they land on says it
 * instead. Only the fixed sentences of `ssoErrors.ts` are shown, never text from the address.
 */
export function SsoErrorNotice({ message, onDismiss }: { message: string; onDismiss: () => void }) {
  return (
    <div className="alert alert-error sso-error-notice" role="alert">
      <span data-testid="sso-error">
        Your single sign-on attempt failed; you are still signed in as before. {message}
      </span>
      <button type="button" className="btn btn-ghost btn-sm" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  );
}
