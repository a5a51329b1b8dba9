/**
 * SSO end to end against a real OpenID Connect provider (oidc-provider, started by oidcProvider.globalSetup.ts):
 * domain verification over DNS-over-HTTPS, authorization code + PKCE, ID token checks, provisioning, and the
 * attacks: wrong audience, bad signature, replayed code or state, unverified email, state without its browser.
 * API clients get the JSON error; a browser is sent to the sign-in page with a code from a fixed list.
 */
import { env, exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { SSO_ERROR_CODES } from '../src/routes/sso.ts';
import { SSO_ERROR_MESSAGES } from '../ui/src/pages/ssoErrors.ts';
import { type Browser, call, callJson, cookieFrom, unique } from './client.ts';
import { signUp } from './fixtures.ts';
import { REFUSAL_DESCRIPTION } from './oidcInteraction.ts';

const SESSION = '__Host-understory_session';
const SSO_STATE = '__Host-understory_sso';
let issuer: string;

beforeAll(() => {
  issuer = inject('oidcIssuer');
  // The resolver's port is only known once the global setup has run; the worker reads it from env per request.
  (env as unknown as Record<string, string>).DNS_RESOLVER_URL = inject('dnsResolverUrl');
});

type SsoOrg = { orgId: string; owner: Browser; domain: string };

async function ssoOrg(clientId: string): Promise<SsoOrg> {
  const owner = await signUp();
  const org = await callJson<{ id: string }>('POST', '/api/orgs', {
    as: owner,
    body: { name: 'SSO org', slug: unique('sso').toLowerCase().slice(0, 40) },
  });
  const orgId = org.body.id;
  const put = await call('PUT', `/api/orgs/${orgId}/sso`, {
    as: owner,
    body: { issuer, clientId, clientSecret: `${clientId}-secret`, defaultRole: 'editor', enabled: true },
  });
  expect(put.status).toBe(200);
  const domain = `${unique('corp').toLowerCase()}.example.com`;
  const claimed = await callJson<{ record: { name: string; value: string } }>(
    'POST',
    `/api/orgs/${orgId}/sso/domains`,
    { as: owner, body: { domain } },
  );
  expect(claimed.status).toBe(201);
  // Before the TXT record exists, verification fails.
  expect((await call('POST', `/api/orgs/${orgId}/sso/domains/${domain}/verify`, { as: owner })).status).toBe(
    409,
  );
  await fetch(`${issuer}/__dns`, { method: 'POST', body: JSON.stringify(claimed.body.record) });
  const verified = await callJson<{ verified: boolean }>(
    'POST',
    `/api/orgs/${orgId}/sso/domains/${domain}/verify`,
    {
      as: owner,
    },
  );
  expect(verified.status).toBe(200);
  expect(verified.body.verified).toBe(true);
  return { orgId, owner, domain };
}

/** Follows the browser's path: edge -> provider (auto sign-in) -> back; returns the callback URL and state cookie. */
async function authorize(email: string): Promise<{ callbackUrl: string; stateCookie: string }> {
  const start = await call('GET', `/api/sso/start?email=${encodeURIComponent(email)}`);
  expect(start.status).toBe(302);
  const stateCookie = cookieFrom(start, SSO_STATE)!;
  expect(stateCookie).toBeTruthy();
  let location = start.headers.get('location')!;
  expect(location.startsWith(issuer)).toBe(true);
  expect(new URL(location).searchParams.get('code_challenge_method')).toBe('S256');
  const jar = new Map<string, string>();
  for (let hop = 0; hop < 10 && !location.startsWith('https://edge.test/'); hop++) {
    const res = await fetch(location, {
      redirect: 'manual',
      headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(';')[0]!;
      jar.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
    }
    const next = res.headers.get('location');
    if (!next) throw new Error(`provider answered ${res.status} at ${location}: ${await res.text()}`);
    location = new URL(next, location).toString();
  }
  expect(location.startsWith('https://edge.test/api/sso/callback?')).toBe(true);
  return { callbackUrl: location, stateCookie };
}

function callback(url: string, cookie: string | null) {
  const headers = cookie ? { cookie } : undefined;
  return exports.default.fetch(new Request(url, { headers, redirect: 'manual' }));
}

/** A browser's top-level navigation (the provider's redirect back, a link to the start). */
function browserVisit(url: string, cookie: string | null) {
  const headers: Record<string, string> = {
    accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'sec-fetch-dest': 'document',
    'sec-fetch-mode': 'navigate',
  };
  if (cookie) headers.cookie = cookie;
  return exports.default.fetch(new Request(url, { headers, redirect: 'manual' }));
}

/**
 * A failed callback in a browser: to the sign-in page with the code and nothing else (no session, the state
 * cookie cleared), and the state is gone (the same callback as an API call finds it used).
 */
async function expectSentToSignIn(callbackUrl: string, cookie: string | null, code: string) {
  const res = await browserVisit(callbackUrl, cookie);
  expect(res.status).toBe(302);
  expect(res.headers.get('location')).toBe(`/signin?sso_error=${code}`);
  expect(cookieFrom(res, SESSION)).toBeNull();
  expect(cookieFrom(res, SSO_STATE)).toBe(`${SSO_STATE}=`);
  await expectRejected(await callback(callbackUrl, cookie), /unknown, used or expired state/);
}

async function expectRejected(res: Response, why: RegExp) {
  expect(res.status).toBe(401);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe('sso_failed');
  expect(body.error.message).toMatch(why);
  expect(cookieFrom(res, SESSION)).toBeNull();
}

describe('SSO with OpenID Connect', () => {
  let good: SsoOrg;
  beforeAll(async () => {
    good = await ssoOrg('understory-good');
  }, 60_000);

  it('signs a user of a verified domain in, provisions them with the default role, and audits it', async () => {
    const email = `${unique('ann')}@${good.domain}`;
    const { callbackUrl, stateCookie } = await authorize(email);
    const res = await callback(callbackUrl, stateCookie);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/');
    const cookie = cookieFrom(res, SESSION)!;
    const me = await callJson<{ user: { email: string }; orgs: { id: string; role: string }[] }>(
      'GET',
      '/api/me',
      {
        as: { cookie, csrf: '', userId: '', email: '' },
      },
    );
    expect(me.status).toBe(200);
    expect(me.body.user.email).toBe(email.toLowerCase());
    expect(me.body.orgs).toEqual([expect.objectContaining({ id: good.orgId, role: 'editor' })]);
    const audit = await callJson<{ entries: { action: string; outcome: string }[] }>(
      'GET',
      `/api/orgs/${good.orgId}/audit`,
      { as: good.owner },
    );
    expect(audit.body.entries).toContainEqual(
      expect.objectContaining({ action: 'sso.login', outcome: 'success' }),
    );
  });

  it('refuses a replayed callback (state consumed) and a replayed code under a new state', async () => {
    const email = `${unique('bob')}@${good.domain}`;
    const first = await authorize(email);
    expect((await callback(first.callbackUrl, first.stateCookie)).status).toBe(302);
    await expectRejected(
      await callback(first.callbackUrl, first.stateCookie),
      /unknown, used or expired state/,
    );
    // The same code with a fresh flow's state: the provider refuses a used code (and its PKCE verifier differs).
    const second = await authorize(email);
    const code = new URL(first.callbackUrl).searchParams.get('code')!;
    const forged = new URL(second.callbackUrl);
    forged.searchParams.set('code', code);
    await expectRejected(await callback(forged.toString(), second.stateCookie), /provider answer rejected/);
  });

  it('refuses a callback that arrives without the browser that started it (login CSRF)', async () => {
    const { callbackUrl } = await authorize(`${unique('cat')}@${good.domain}`);
    await expectRejected(await callback(callbackUrl, null), /does not belong to this browser/);
  });

  it('refuses an email the provider has not verified', async () => {
    const { callbackUrl, stateCookie } = await authorize(`unverified-${unique('dan')}@${good.domain}`);
    await expectRejected(await callback(callbackUrl, stateCookie), /not verified the email/);
  });

  it('refuses an ID token for another audience', async () => {
    const org = await ssoOrg('understory-wrongaud');
    const { callbackUrl, stateCookie } = await authorize(`${unique('eve')}@${org.domain}`);
    await expectRejected(await callback(callbackUrl, stateCookie), /provider answer rejected.*aud/i);
  }, 60_000);

  it('refuses an ID token with a bad signature', async () => {
    const org = await ssoOrg('understory-badsig');
    const { callbackUrl, stateCookie } = await authorize(`${unique('fay')}@${org.domain}`);
    await expectRejected(await callback(callbackUrl, stateCookie), /provider answer rejected.*signature/i);
  }, 60_000);

  it('sends a browser whose provider refused back to the sign-in page, without the provider text', async () => {
    const denied = await authorize(`denied-${unique('gus')}@${good.domain}`);
    const params = new URL(denied.callbackUrl).searchParams;
    expect(params.get('error')).toBe('access_denied');
    expect(params.get('error_description')).toBe(REFUSAL_DESCRIPTION);
    await expectSentToSignIn(denied.callbackUrl, denied.stateCookie, 'access_denied');
    const failing = await authorize(`failing-${unique('hal')}@${good.domain}`);
    expect(new URL(failing.callbackUrl).searchParams.get('error')).toBe('temporarily_unavailable');
    await expectSentToSignIn(failing.callbackUrl, failing.stateCookie, 'provider_error');
    // An API client is told the provider's error code (plain), not its description.
    const api = await authorize(`denied-${unique('ida')}@${good.domain}`);
    const res = await callback(api.callbackUrl, api.stateCookie);
    await expectRejected(res.clone(), /the provider answered access_denied$/);
    expect(await res.text()).not.toContain('<b>');
  });

  it('sends a browser to the sign-in page for a used, foreign or rejected state and an unverified email', async () => {
    const used = await authorize(`${unique('jan')}@${good.domain}`);
    expect((await browserVisit(used.callbackUrl, used.stateCookie)).status).toBe(302);
    await expectSentToSignIn(used.callbackUrl, used.stateCookie, 'expired');
    const foreign = await authorize(`${unique('kim')}@${good.domain}`);
    await expectSentToSignIn(foreign.callbackUrl, null, 'wrong_browser');
    const unverified = await authorize(`unverified-${unique('lee')}@${good.domain}`);
    await expectSentToSignIn(unverified.callbackUrl, unverified.stateCookie, 'email_unverified');
    // A used code under a fresh state: the provider refuses the exchange.
    const fresh = await authorize(`${unique('jan')}@${good.domain}`);
    const forged = new URL(fresh.callbackUrl);
    forged.searchParams.set('code', new URL(used.callbackUrl).searchParams.get('code')!);
    await expectSentToSignIn(forged.toString(), fresh.stateCookie, 'invalid_response');
  });

  it('sends a browser to the sign-in page when SSO or the domain went away while it was at the provider', async () => {
    const org = await ssoOrg('understory-good');
    const first = await authorize(`${unique('mo')}@${org.domain}`);
    const second = await authorize(`${unique('ned')}@${org.domain}`);
    const sso = (enabled: boolean) =>
      call('PUT', `/api/orgs/${org.orgId}/sso`, {
        as: org.owner,
        body: { issuer, clientId: 'understory-good', defaultRole: 'editor', enabled },
      });
    expect((await sso(false)).status).toBe(200);
    await expectSentToSignIn(first.callbackUrl, first.stateCookie, 'sso_disabled');
    expect((await sso(true)).status).toBe(200);
    const removed = await call('DELETE', `/api/orgs/${org.orgId}/sso/domains/${org.domain}`, {
      as: org.owner,
    });
    expect(removed.status).toBe(200);
    await expectSentToSignIn(second.callbackUrl, second.stateCookie, 'domain_not_verified');
    const audit = await callJson<{ entries: { action: string; outcome: string; details: unknown }[] }>(
      'GET',
      `/api/orgs/${org.orgId}/audit?action=sso.login`,
      { as: org.owner },
    );
    const failures = audit.body.entries.filter((e) => e.outcome === 'failure');
    // Each failure names its code (the one the browser was sent with) beside the reason.
    expect(failures.map((e) => (e.details as { code?: string }).code)).toEqual(
      expect.arrayContaining(['sso_disabled', 'domain_not_verified']),
    );
  }, 60_000);

  it('has a sign-in page message for every code the callback sends', () => {
    for (const code of SSO_ERROR_CODES) expect(SSO_ERROR_MESSAGES[code], code).toMatch(/\w/);
  });

  it('does not start SSO for an unverified or unknown domain', async () => {
    const res = await callJson(
      'GET',
      `/api/sso/start?email=${encodeURIComponent('x@nobody-uses-this.example')}`,
    );
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: { code: 'sso_failed' } });
  });

  it('sends a browser that cannot start SSO to the sign-in page, with no flow begun', async () => {
    const unknown = await browserVisit(
      `https://edge.test/api/sso/start?email=${encodeURIComponent('x@nobody-uses-this.example')}`,
      null,
    );
    expect(unknown.status).toBe(302);
    expect(unknown.headers.get('location')).toBe('/signin?sso_error=unknown_domain');
    expect(cookieFrom(unknown, SSO_STATE)).toBeNull();
    const org = await ssoOrg('understory-good');
    const off = await call('PUT', `/api/orgs/${org.orgId}/sso`, {
      as: org.owner,
      body: { issuer, clientId: 'understory-good', defaultRole: 'editor', enabled: false },
    });
    expect(off.status).toBe(200);
    const start = `https://edge.test/api/sso/start?email=${encodeURIComponent(`${unique('oz')}@${org.domain}`)}`;
    const disabled = await browserVisit(start, null);
    expect(disabled.headers.get('location')).toBe('/signin?sso_error=sso_disabled');
    expect(cookieFrom(disabled, SSO_STATE)).toBeNull();
    // The UI's form asks with fetch (no page visit) and still gets the JSON it shows in the form.
    const asked = await callJson('GET', new URL(start).pathname + new URL(start).search);
    expect(asked.status).toBe(401);
    expect(asked.body).toMatchObject({ error: { code: 'sso_failed' } });
  }, 60_000);

  it('audits every start that cannot go on: the organization when known, the reason code, no secrets', async () => {
    type Row = { org_id: string | null; actor: string; outcome: string; details: string };
    const startRows = async (where: string, arg: string) =>
      (
        await env.DB.prepare(
          `SELECT org_id, actor, outcome, details FROM audit_log WHERE action = 'sso.start' AND ${where}`,
        )
          .bind(arg)
          .all<Row>()
      ).results;
    // No organization: the row names none (and not the address someone typed).
    const stranger = `${unique('who')}@${unique('nobody').toLowerCase()}.example`;
    const unknown = await browserVisit(
      `https://edge.test/api/sso/start?email=${encodeURIComponent(stranger)}`,
      null,
    );
    expect(unknown.headers.get('location')).toBe('/signin?sso_error=unknown_domain');
    const strangerRows = await startRows('org_id IS NULL AND details LIKE ?', '%unknown_domain%');
    expect(strangerRows.length).toBeGreaterThanOrEqual(1);
    expect(strangerRows[0]).toMatchObject({ org_id: null, actor: 'anonymous', outcome: 'failure' });
    expect(JSON.stringify(strangerRows)).not.toContain(stranger.split('@')[0]);

    // SSO turned off, then a provider that cannot be discovered: in the organization's own log.
    const org = await ssoOrg('understory-good');
    const setSso = (body: Record<string, unknown>) =>
      call('PUT', `/api/orgs/${org.orgId}/sso`, {
        as: org.owner,
        body: { issuer, clientId: 'understory-good', defaultRole: 'editor', enabled: true, ...body },
      });
    const email = `${unique('amy')}@${org.domain}`;
    const start = `/api/sso/start?email=${encodeURIComponent(email)}`;
    expect((await setSso({ enabled: false })).status).toBe(200);
    expect((await callJson('GET', start)).status).toBe(401);
    // A port nothing listens on: discovery fails (the JSON caller gets 502).
    expect((await setSso({ issuer: 'http://127.0.0.1:9/gone', clientSecret: 'do-not-log-me' })).status).toBe(
      200,
    );
    expect((await callJson('GET', start)).status).toBe(502);
    const audit = await callJson<{
      entries: { action: string; outcome: string; details: Record<string, unknown> }[];
    }>('GET', `/api/orgs/${org.orgId}/audit?action=sso.start`, { as: org.owner });
    expect(audit.status).toBe(200);
    expect(audit.body.entries.map((e) => [e.outcome, e.details.code])).toEqual([
      ['failure', 'provider_unreachable'],
      ['failure', 'sso_disabled'],
    ]);
    expect(audit.body.entries[0]!.details.reason).toMatch(/cannot discover the identity provider/);
    const text = JSON.stringify(audit.body.entries);
    expect(text).not.toContain('do-not-log-me');
    expect(text).not.toContain(email.split('@')[0]);
  }, 60_000);
});
