/**
 * A real OpenID Connect provider (the `oidc-provider` package) for the UI's SSO test, on a free 127.0.0.1
 * port, plus the DNS-over-HTTPS JSON endpoint the edge asks when it verifies a domain's TXT record.
 * Chromium walks the real authorization-code flow through it. Users sign in without a form: the interaction
 * completes for the account named by `login_hint` (the edge sends the email typed on the sign-in page).
 * The edge-side suite has its own provider with attack clients (edge/test/oidcProvider.globalSetup.ts); both
 * complete interactions and answer DNS the same way (edge/test/oidcInteraction.ts).
 *
 * The client's redirect URI names the edge, whose port is known only once it runs: `start()` listens first
 * (so the edge can be given the DNS endpoint), `register(redirectUri)` then creates the provider.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import { answerDnsQuery, completeInteraction } from '../../test/oidcInteraction.ts';

export const CLIENT_ID = 'understory-ui';
export const CLIENT_SECRET = 'understory-ui-secret';

export interface TestOidcProvider {
  issuer: string;
  dnsResolverUrl: string;
  register(redirectUri: string): Promise<void>;
  publishTxt(name: string, value: string): void;
  close(): Promise<void>;
}

export async function startOidcProvider(): Promise<TestOidcProvider> {
  const txt = new Map<string, string[]>();
  let provider: Provider | undefined;
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname === '/dns-query') {
        answerDnsQuery(url, txt, res);
        return;
      }
      if (!provider) {
        res.statusCode = 503;
        res.end('provider not registered yet');
        return;
      }
      if (url.pathname.startsWith('/interaction/')) {
        await completeInteraction(provider, req, res);
        return;
      }
      provider.callback()(req, res);
    } catch (err) {
      res.statusCode = 500;
      res.end(String(err));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    dnsResolverUrl: `${issuer}/dns-query`,
    async register(redirectUri) {
      const { privateKey } = await generateKeyPair('RS256', { extractable: true });
      const key = { ...(await exportJWK(privateKey)), kid: 'ui-test', alg: 'RS256', use: 'sig' };
      provider = new Provider(issuer, {
        clients: [
          {
            client_id: CLIENT_ID,
            client_secret: CLIENT_SECRET,
            redirect_uris: [redirectUri],
            grant_types: ['authorization_code'],
            response_types: ['code'],
          },
        ],
        jwks: { keys: [key] },
        cookies: { keys: ['ui-test-cookie-key'] },
        features: { devInteractions: { enabled: false } },
        claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
        findAccount: async (_ctx, sub) => ({
          accountId: sub,
          claims: async () => ({ sub, email: sub, email_verified: true, name: 'Dana Scully' }),
        }),
      });
    },
    publishTxt(name, value) {
      txt.set(name, [...(txt.get(name) ?? []), value]);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
