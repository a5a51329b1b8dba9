/**
 * Node-side pieces shared by the two test OpenID Connect providers (edge/test/oidcProvider.globalSetup.ts for
 * the edge suite, edge/ui/testing/oidcProvider.ts for the UI's SSO test): both complete the provider's
 * interaction without a form and answer DNS-over-HTTPS JSON queries for domain verification.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';

/** Answers `/dns-query?name=` with the TXT records published for that name (application/dns-json). */
export function answerDnsQuery(url: URL, txt: ReadonlyMap<string, string[]>, res: ServerResponse): void {
  const name = url.searchParams.get('name') ?? '';
  const answers = (txt.get(name) ?? []).map((data) => ({ name, type: 16, TTL: 60, data: `"${data}"` }));
  res.setHeader('content-type', 'application/dns-json');
  res.end(JSON.stringify({ Status: 0, Answer: answers }));
}

/** What the provider says, HTML and all, when it refuses: the edge must not carry it to the sign-in page. */
export const REFUSAL_DESCRIPTION = 'The user said <b>no</b> & left';

/**
 * Completes an `/interaction/` step with no form: login as the account named by `login_hint` (the edge sends
 * the email the user typed), then consent to `openid email profile`. Accounts starting with `denied` are
 * refused with `error=access_denied`, those starting with `failing` with `error=temporarily_unavailable`, both
 * with `REFUSAL_DESCRIPTION`.
 */
export async function completeInteraction(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  const accountId = String(details.params.login_hint ?? 'nobody@example.com');
  const refusal = accountId.startsWith('denied')
    ? 'access_denied'
    : accountId.startsWith('failing')
      ? 'temporarily_unavailable'
      : null;
  if (refusal) {
    const result = { error: refusal, error_description: REFUSAL_DESCRIPTION };
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
    return;
  }
  if (details.prompt.name === 'login') {
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId } },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  const grant = new provider.Grant({ accountId, clientId: String(details.params.client_id) });
  grant.addOIDCScope('openid email profile');
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}
