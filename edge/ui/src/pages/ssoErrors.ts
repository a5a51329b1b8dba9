/**
 * What the sign-in page says when single sign-on failed. The edge's callback sends the browser to
 * `/signin?sso_error=<code>` with one of its fixed codes (`SSO_ERROR_CODES`, edge/src/routes/sso.ts); the page
 * shows only these sentences, never text from the URL, so nothing the identity provider wrote reaches the page.
 * Kept free of DOM and React so the edge's SSO test can check that every code has a message here.
 */
export const SSO_ERROR_PARAM = 'sso_error';

export const SSO_ERROR_MESSAGES: Readonly<Record<string, string>> = {
  unknown_domain:
    'No organization signs in with single sign-on for your email domain. Sign in with a password, or ask your administrator.',
  access_denied:
    'Your identity provider did not let you sign in: the sign-in was cancelled, or your account may not use Understory. Ask your administrator for access, or try again.',
  provider_error:
    'Your identity provider could not complete the sign-in. Try again; if it keeps failing, ask your administrator to check the single sign-on settings.',
  provider_unreachable: 'Your identity provider could not be reached. Try again in a moment.',
  expired: 'That sign-in took too long or was already used. Start again.',
  wrong_browser:
    'That sign-in was started in another browser or tab. Start again here, in the browser you want to use.',
  sso_disabled:
    'Single sign-on is turned off for your organization. Sign in with a password, or ask your administrator.',
  invalid_response:
    'The answer from your identity provider could not be verified, so you were not signed in. Ask your administrator to check the single sign-on settings.',
  email_unverified:
    'Your identity provider has not verified your email address. Verify it there, then sign in again.',
  domain_not_verified:
    'Your email domain is not set up for single sign-on in this organization. Ask your administrator to verify it.',
};

const UNKNOWN = 'Single sign-on did not complete. Start again.';

/** The message for a `sso_error` value, or null when the page was not reached from a failed SSO sign-in. */
export function ssoErrorMessage(search: string): string | null {
  const code = new URLSearchParams(search).get(SSO_ERROR_PARAM);
  if (code === null) return null;
  return Object.hasOwn(SSO_ERROR_MESSAGES, code) ? SSO_ERROR_MESSAGES[code]! : UNKNOWN;
}
