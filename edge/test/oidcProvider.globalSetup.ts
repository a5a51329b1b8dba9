/**
 * Runs in Node (vitest globalSetup of the edge project), not in workerd: starts a REAL OpenID Connect provider
 * (the `oidc-provider` package) on a free 127.0.0.1 port, plus a DNS-over-HTTPS JSON endpoint for domain
 * verification, and provides their URLs to the tests (`inject('oidcIssuer')`). The worker reaches them with
 * ordinary outbound fetch.
 *
 * Test-only behaviour, chosen per client id so tests cannot interfere with each other:
 * - `understory-good`: a normal confidential client.
 * - `understory-badsig`: the ID token is re-signed with a foreign key under the provider's key id.
 * - `understory-wrongaud`: the ID token is re-signed with the provider's real key but for another audience.
 * Users sign in without a form: the interaction completes for the account named by `login_hint`
 * (accounts starting with `unverified` have email_verified=false; `denied` and `failing` ones are refused,
 * see oidcInteraction.ts).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import Provider from 'oidc-provider';
import type { TestProject } from 'vitest/node';
import { answerDnsQuery, completeInteraction } from './oidcInteraction.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    oidcIssuer: string;
    dnsResolverUrl: string;
  }
}

export const CALLBACK = 'https://edge.test/api/sso/callback';
const KID = 'test-key-1';

async function signingKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: KID, alg: 'RS256', use: 'sig' };
}

async function resign(idToken: string, key: JWK, changes: Record<string, unknown>): Promise<string> {
  const claims = { ...decodeJwt(idToken), ...changes };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: KID })
    .sign(await importJWK(key, 'RS256'));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      text += d;
    });
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

export default async function setup(project: TestProject) {
  const providerKey = await signingKey();
  const foreignKey = await signingKey();
  const txtRecords = new Map<string, string[]>();
  let provider: Provider | undefined;

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname === '/dns-query') {
        answerDnsQuery(url, txtRecords, res);
        return;
      }
      if (url.pathname === '/__dns' && req.method === 'POST') {
        const { name, value } = JSON.parse(await readBody(req)) as { name: string; value: string };
        txtRecords.set(name, [...(txtRecords.get(name) ?? []), value]);
        res.end('{}');
        return;
      }
      if (url.pathname.startsWith('/interaction/') && provider) {
        await completeInteraction(provider, req, res);
        return;
      }
      provider?.callback()(req, res);
    } catch (err) {
      res.statusCode = 500;
      res.end(String(err));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const client = (client_id: string) => ({
    client_id,
    client_secret: `${client_id}-secret`,
    redirect_uris: [CALLBACK],
    grant_types: ['authorization_code'],
    response_types: ['code' as const],
  });
  provider = new Provider(base, {
    clients: [client('understory-good'), client('understory-badsig'), client('understory-wrongaud')],
    jwks: { keys: [providerKey] },
    cookies: { keys: ['test-cookie-key'] },
    features: { devInteractions: { enabled: false } },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    findAccount: async (_ctx, sub) => ({
      accountId: sub,
      claims: async () => ({
        sub,
        email: sub,
        email_verified: !sub.startsWith('unverified'),
        name: 'SSO User',
      }),
    }),
  });
  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as { id_token?: string } | undefined;
    if (ctx.oidc?.route !== 'token' || !body?.id_token) return;
    const clientId = ctx.oidc.client?.clientId;
    if (clientId === 'understory-badsig') body.id_token = await resign(body.id_token, foreignKey, {});
    if (clientId === 'understory-wrongaud') {
      body.id_token = await resign(body.id_token, providerKey, { aud: 'someone-else' });
    }
  });

  project.provide('oidcIssuer', base);
  project.provide('dnsResolverUrl', `${base}/dns-query`);
  return async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}
