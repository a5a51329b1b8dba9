/**
 * End to end for the admin pages: service accounts (create, token shown once and working, revoke, delete),
 * the audit log (entries of those actions, filters in the URL, paging), single sign-on settings against a real
 * OpenID Connect provider (oidc-provider, testing/oidcProvider.ts) with DNS verification of the domain, and
 * "Sign in with SSO" walked by Chromium through the provider and back, signed in as a new member; a sign-in the
 * provider refuses ends on the sign-in page with the reason (and so does the same callback replayed).
 * The edge is `wrangler dev` with its local D1 (incloud/portal/testing/edgeStack.ts). Screenshots:
 * test-artifacts/ui/admin/.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { REPO_ROOT } from '../../cli/up/plan.ts';
import { type EdgeStack, startEdgeStack } from '../../incloud/portal/testing/edgeStack.ts';
import { REFUSAL_DESCRIPTION } from '../test/oidcInteraction.ts';
import { SSO_ERROR_MESSAGES } from './src/pages/ssoErrors.ts';
import { launchChromium, openPage, poll, screenshots, signInAsStackOwner } from './testing/browser.ts';
import {
  CLIENT_ID,
  CLIENT_SECRET,
  startOidcProvider,
  type TestOidcProvider,
} from './testing/oidcProvider.ts';

let stack: EdgeStack | undefined;
let idp: TestOidcProvider | undefined;
let browser: Browser | undefined;
const shot = screenshots('ui/admin');
const SSO_DOMAIN = 'sso-e2e.example.com';

beforeAll(async () => {
  if (!existsSync(join(REPO_ROOT, 'edge/public/assets'))) {
    throw new Error('cannot test the UI: edge/public is not built; run node scripts/build-ui.mjs');
  }
  idp = await startOidcProvider();
  const [s, b] = await Promise.all([
    startEdgeStack({ DNS_RESOLVER_URL: idp.dnsResolverUrl, SSO_ALLOW_INSECURE_HTTP: 'true' }),
    launchChromium(),
  ]);
  stack = s;
  browser = b;
  await idp.register(`${stack.url}/api/sso/callback`);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await idp?.close();
}, 60_000);

const newPage = (width: number) => openPage(browser!, { width, height: 860 }, shot);

async function signIn(width = 1366) {
  const p = await newPage(width);
  await signInAsStackOwner(p.page, stack!.url);
  return p;
}

/** The audit log's request for an older page (the first page has no `before`). */
const isOlderAuditPage = (url: URL) => url.pathname.endsWith('/audit') && url.searchParams.has('before');

/** A change through the API with the page's own session (cookie and CSRF token). */
async function asPage(page: Page, method: 'POST' | 'GET', path: string, data?: unknown) {
  const me = await (await page.request.get(`${stack!.url}/api/me`)).json();
  const res = await page.request.fetch(`${stack!.url}${path}`, {
    method,
    headers: { 'x-csrf-token': me.csrfToken, 'content-type': 'application/json' },
    ...(data === undefined ? {} : { data }),
  });
  expect(res.status(), `${method} ${path}`).toBeLessThan(300);
  return res.json();
}

test('service accounts: create, a token shown once that works, revoke, delete', async () => {
  const { page, errors } = await signIn();
  await page.getByRole('link', { name: 'Service accounts' }).click();
  await page.getByRole('heading', { name: 'No service accounts' }).waitFor();
  await shot(page, '01-service-accounts-empty');

  for (const name of ['grafana', 'ci-deploy']) {
    await page.getByLabel('Account name').fill(name);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('region', { name: `Service account ${name}` }).waitFor();
  }
  const grafana = page.getByRole('region', { name: 'Service account grafana' });
  expect(await grafana.textContent()).toContain('by Stack');
  await grafana.getByRole('button', { name: 'New token' }).click();
  await grafana.getByLabel('Name').fill('dashboards');
  await grafana.getByLabel('Scope').selectOption('read');
  await grafana.getByRole('button', { name: 'Create token' }).click();
  const secret = (await grafana.getByTestId('new-token').textContent()) ?? '';
  expect(secret).toMatch(/^ust_/);
  const row = grafana.locator('tr[data-token-row="dashboards"]');
  await poll(() => row.textContent()).toContain('active');
  expect(await grafana.textContent()).toContain('1 active token');
  await shot(page, '02-service-account-token');

  // The token reads as a read-scoped service account, and cannot manage.
  const asToken = (path: string) =>
    fetch(`${stack!.url}${path}`, { headers: { authorization: `Bearer ${secret}` } });
  expect((await asToken(`/api/orgs/${stack!.orgId}/clusters`)).status).toBe(200);
  expect((await asToken(`/api/orgs/${stack!.orgId}/audit`)).status).toBe(403);

  // Done hides the secret for good.
  await grafana.getByRole('button', { name: 'Done' }).click();
  expect(await grafana.getByTestId('new-token').count()).toBe(0);

  page.once('dialog', (d) => void d.accept());
  await grafana.getByRole('button', { name: 'Revoke dashboards' }).click();
  await poll(() => row.textContent()).toContain('revoked');
  await poll(async () => (await asToken(`/api/orgs/${stack!.orgId}/clusters`)).status).toBe(401);
  expect(await grafana.textContent()).toContain('0 active tokens');
  // The list really holds the server's record after a reload.
  await page.reload();
  await poll(() => page.locator('tr[data-token-row="dashboards"]').textContent()).toContain('revoked');

  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: 'Delete ci-deploy' }).click();
  await poll(() => page.getByRole('region', { name: 'Service account ci-deploy' }).count()).toBe(0);
  await shot(page, '03-service-accounts');
  await page.setViewportSize({ width: 1920, height: 1000 });
  await shot(page, '03b-service-accounts-wide');
  expect(errors).toEqual([]);
}, 300_000);

test('audit log: the actions of this session, filters in the URL, older pages', async () => {
  const { page, errors } = await signIn();
  // More than a page of entries: 55 personal tokens created through the API with this session.
  for (let i = 0; i < 55; i++) {
    await asPage(page, 'POST', `/api/orgs/${stack!.orgId}/tokens`, { name: `bulk-${i}`, scopes: ['read'] });
  }
  await page.getByRole('link', { name: 'Audit log' }).click();
  const rows = page.locator('tbody tr[data-audit-action]');
  await poll(() => rows.count()).toBe(50);
  await shot(page, '04-audit');
  // "Load older" is an action like the others: a failure is said beside its button, which is free again.
  const older = page.getByRole('button', { name: /Load older entries|Loading/ });
  await page.route(
    isOlderAuditPage,
    (route) =>
      route.fulfill({
        status: 500,
        contentType: 'application/json',
        body: JSON.stringify({
          error: { code: 'internal', message: 'cannot read the audit log: test failure' },
        }),
      }),
    { times: 1 },
  );
  await older.click();
  await poll(() => page.locator('.audit-more').getByRole('alert').textContent()).toContain('test failure');
  expect(await older.isEnabled()).toBe(true);
  expect(await rows.count()).toBe(50);
  await page.getByRole('button', { name: 'Load older entries' }).click();
  await poll(async () => (await rows.count()) > 50).toBe(true);
  const actions = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-audit-action')));
  for (const a of ['token.create', 'cluster.register', 'org.create']) expect(actions).toContain(a);
  // Newest first: the bulk tokens come before the organization was created.
  expect(actions.indexOf('token.create')).toBeLessThan(actions.indexOf('org.create'));

  await page.getByLabel('Area').selectOption('service_account');
  await poll(() => new URL(page.url()).searchParams.get('action')).toBe('service_account');
  await poll(async () => {
    const shown = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-audit-action')));
    return shown.length > 0 && shown.every((a) => a?.startsWith('service_account.'));
  }).toBe(true);
  await page.getByLabel('Who').selectOption({ label: 'Stack (stack@example.com)' });
  await poll(() => new URL(page.url()).searchParams.get('actor')).toMatch(/^user:/);
  await poll(() => rows.first().textContent()).toContain('Stack');
  await shot(page, '05-audit-filtered');
  await page.getByLabel('Outcome').selectOption('failure');
  await page.getByRole('heading', { name: 'Nothing matches these filters' }).waitFor();
  // A shared link opens the same view.
  await page.goto(page.url());
  await page.getByRole('heading', { name: 'Nothing matches these filters' }).waitFor();
  expect(await page.getByLabel('Outcome').inputValue()).toBe('failure');
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await poll(() => rows.count()).toBe(50);
  await page.setViewportSize({ width: 1920, height: 1000 });
  await shot(page, '05b-audit-wide');

  // An older page still on its way when the filters change belongs to the view that was left: it is dropped,
  // and the button is busy (disabled) while it runs.
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  await page.route(
    isOlderAuditPage,
    async (route) => {
      await held;
      await route.continue();
    },
    { times: 1 },
  );
  await older.click();
  await poll(() => older.textContent()).toBe('Loading...');
  expect(await older.isDisabled()).toBe(true);
  await page.getByLabel('Area').selectOption('service_account');
  const onlyServiceAccounts = async () => {
    const shown = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-audit-action')));
    return shown.length > 0 && shown.every((a) => a?.startsWith('service_account.'));
  };
  await poll(onlyServiceAccounts).toBe(true);
  const answered = page.waitForResponse((r) => isOlderAuditPage(new URL(r.url())));
  release();
  await answered;
  // Nothing of the unfiltered older page may show up in the filtered list, now or a moment later.
  for (let i = 0; i < 10; i++) {
    expect(await onlyServiceAccounts()).toBe(true);
    await page.waitForTimeout(200);
  }
  expect(errors).toEqual([]);
}, 300_000);

test('single sign-on: configure the provider, verify the domain, sign a new member in through the provider', async () => {
  const { page, errors } = await signIn();
  await page.getByRole('link', { name: 'Single sign-on' }).click();
  await poll(() => page.getByTestId('sso-state').textContent()).toBe('not set up');
  await shot(page, '06-sso-empty');
  await page.getByLabel('Issuer URL').fill(idp!.issuer);
  await page.getByLabel('Client ID').fill(CLIENT_ID);
  await page.getByLabel('Client secret').fill(CLIENT_SECRET);
  await page.getByLabel('Role of new members').selectOption('editor');
  await page.getByRole('button', { name: 'Save provider' }).click();
  await poll(() => page.getByTestId('sso-state').textContent()).toBe('on');
  expect(await page.getByLabel('Client secret').inputValue()).toBe('');
  expect(await page.getByLabel('Client secret').getAttribute('placeholder')).toContain('stored');

  await page.getByLabel('Domain', { exact: true }).fill(SSO_DOMAIN);
  await page.getByRole('button', { name: 'Add domain' }).click();
  const domainRow = page.locator(`tr[data-domain-row="${SSO_DOMAIN}"]`);
  await poll(() => domainRow.locator('.badge').textContent()).toBe('unverified');
  // Before the TXT record exists, verification says which record is missing.
  await domainRow.getByRole('button', { name: 'Verify' }).click();
  await poll(() => page.getByRole('alert').first().textContent()).toContain('not found');
  await shot(page, '07-sso-domain-unverified');
  const label = (await domainRow.locator('.copyblock-head span').textContent()) ?? '';
  const value = (await domainRow.getByTestId(`txt-${SSO_DOMAIN}`).textContent()) ?? '';
  expect(label).toMatch(new RegExp(`^TXT \\S+\\.${SSO_DOMAIN.replaceAll('.', '\\.')}$`));
  idp!.publishTxt(label.slice('TXT '.length), value);
  await domainRow.getByRole('button', { name: 'Verify' }).click();
  await poll(() => domainRow.locator('.badge').textContent()).toBe('verified');
  await shot(page, '08-sso-configured');
  // The stored secret survives a save that leaves the field empty.
  await page.reload();
  await page.getByRole('button', { name: 'Save provider' }).click();
  await poll(() => page.getByRole('status').filter({ hasText: 'Saved.' }).count()).toBe(1);
  expect(await page.getByLabel('Client secret').getAttribute('placeholder')).toContain('stored');

  // A new person of that domain signs in with SSO in their own browser.
  const dana = await newPage(1366);
  await dana.page.goto(`${stack!.url}/signin`);
  await dana.page.getByRole('button', { name: 'Sign in with SSO' }).click();
  await dana.page.getByLabel('Work email').fill('someone@elsewhere.example');
  await dana.page.getByRole('button', { name: 'Continue with SSO' }).click();
  await poll(() => dana.page.getByRole('alert').textContent()).toContain('no organization uses SSO');
  await shot(dana.page, '09-sso-sign-in-unknown-domain');
  await dana.page.getByLabel('Work email').fill(`dana@${SSO_DOMAIN}`);
  await dana.page.getByRole('button', { name: 'Continue with SSO' }).click();
  // Edge -> provider (signs in by login_hint) -> edge callback -> the app, signed in, in the organization.
  await dana.page.waitForURL('**/o/stack/**');
  await poll(() => dana.page.locator('.role-badge').textContent()).toBe('editor');
  expect(await dana.page.locator('.topbar-user').textContent()).toContain('Dana Scully');
  // Editors do not see the admin pages.
  expect(await dana.page.getByRole('link', { name: 'Audit log' }).count()).toBe(0);
  await shot(dana.page, '10-signed-in-with-sso');
  expect(dana.errors).toEqual([]);

  // The owner sees the SSO sign-in in the audit log.
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByLabel('Area').selectOption('sso');
  await poll(() => page.locator('tbody tr[data-audit-action="sso.login"]').count()).toBe(1);
  await shot(page, '11-audit-sso');

  // The provider refuses someone: they land on the sign-in page, told why in our words, not signed in.
  const eve = await newPage(1366);
  await eve.page.goto(`${stack!.url}/signin`);
  await eve.page.getByRole('button', { name: 'Sign in with SSO' }).click();
  await eve.page.getByLabel('Work email').fill(`denied-eve@${SSO_DOMAIN}`);
  const callback = eve.page.waitForRequest((r) => r.url().startsWith(`${stack!.url}/api/sso/callback?`));
  await eve.page.getByRole('button', { name: 'Continue with SSO' }).click();
  const callbackUrl = (await callback).url();
  expect(new URL(callbackUrl).searchParams.get('error')).toBe('access_denied');
  await poll(() => eve.page.getByTestId('sso-error').textContent()).toBe(SSO_ERROR_MESSAGES.access_denied);
  // The code leaves the address bar once shown; the SSO form is open to try again.
  await poll(() => new URL(eve.page.url()).pathname + new URL(eve.page.url()).search).toBe('/signin');
  expect(await eve.page.getByRole('button', { name: 'Continue with SSO' }).count()).toBe(1);
  expect(await eve.page.content()).not.toContain(REFUSAL_DESCRIPTION.slice(0, 12));
  expect((await eve.page.request.get(`${stack!.url}/api/me`)).status()).toBe(401);
  await shot(eve.page, '12-sso-refused');
  // The same answer from the provider again: its state was used up by the first visit.
  await eve.page.goto(callbackUrl);
  await poll(() => eve.page.getByTestId('sso-error').textContent()).toBe(SSO_ERROR_MESSAGES.expired);
  expect((await eve.page.request.get(`${stack!.url}/api/me`)).status()).toBe(401);
  expect(eve.errors).toEqual([]);
  // The refusal is in the organization's audit log next to the sign-in that worked (the replay's state names
  // no organization any more, so it is audited without one).
  await page.reload();
  await poll(() => page.locator('tbody tr[data-audit-action="sso.login"]').count()).toBe(2);

  // Someone already signed in whose SSO sign-in fails (a second sign-in, another account) comes back to
  // /signin?sso_error=..., which sends a signed-in user on to their organization: the page they land on says why.
  const callbackOfOwner = page.waitForRequest((r) => r.url().startsWith(`${stack!.url}/api/sso/callback?`));
  await page.goto(`${stack!.url}/api/sso/start?email=${encodeURIComponent(`denied-stack@${SSO_DOMAIN}`)}`);
  expect(new URL((await callbackOfOwner).url()).searchParams.get('error')).toBe('access_denied');
  await page.waitForURL('**/o/stack/**');
  await poll(() => page.getByTestId('sso-error').textContent()).toContain(SSO_ERROR_MESSAGES.access_denied);
  expect(new URL(page.url()).search).not.toContain('sso_error');
  expect(await page.content()).not.toContain(REFUSAL_DESCRIPTION.slice(0, 12));
  // Still signed in as before: the failed attempt changed nothing.
  expect((await page.request.get(`${stack!.url}/api/me`)).status()).toBe(200);
  await shot(page, '13-sso-refused-signed-in');
  // Shown once: dismissed it goes, and a reload of where they landed does not bring it back.
  await page.getByRole('button', { name: 'Dismiss' }).click();
  expect(await page.getByTestId('sso-error').count()).toBe(0);
  await page.reload();
  await page.getByRole('heading', { name: 'Clusters', level: 1 }).waitFor();
  expect(await page.getByTestId('sso-error').count()).toBe(0);
  // A code outside the fixed list gets the general sentence, never the text of the address.
  await page.goto(`${stack!.url}/signin?sso_error=${encodeURIComponent('Your account is locked, call 555')}`);
  await page.waitForURL('**/o/stack/**');
  await poll(() => page.getByTestId('sso-error').textContent()).toContain('Single sign-on did not complete');
  expect(await page.content()).not.toContain('account is locked');
  expect(errors).toEqual([]);
}, 300_000);
