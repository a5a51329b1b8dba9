/**
 * End to end: the built UI (edge/public, scripts/build-ui.mjs) served by the real edge worker under
 * `wrangler dev` (local D1), driven by Debian's headless Chromium through playwright-core. Screenshots of each
 * page go to test-artifacts/ui/.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { REPO_ROOT, WRANGLER_OFFLINE_ENV } from '../../cli/up/plan.ts';
import { freePort } from '../../lib/net.ts';
import { focusedText, launchChromium, openPage, poll, screenshots } from './testing/browser.ts';

const run = promisify(execFile);
const wrangler = join(REPO_ROOT, 'node_modules/.bin/wrangler');

let stateDir = '';
let edge: ChildProcess | undefined;
let edgeLog = '';
let browser: Browser | undefined;
let base = '';

async function waitForEdge(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (edge?.exitCode !== null && edge?.exitCode !== undefined) break;
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`cannot start wrangler dev: ${url} did not answer; log:\n${edgeLog.slice(-3000)}`);
}

beforeAll(async () => {
  if (!existsSync(join(REPO_ROOT, 'edge/public/assets'))) {
    throw new Error('cannot test the UI: edge/public is not built; run node scripts/build-ui.mjs');
  }
  stateDir = mkdtempSync(join(tmpdir(), 'understory-ui-'));
  const env = { ...process.env, ...WRANGLER_OFFLINE_ENV, CI: 'true' };
  const config = join(REPO_ROOT, 'wrangler.toml');
  await run(
    wrangler,
    ['d1', 'migrations', 'apply', 'DB', '--local', '--config', config, '--persist-to', stateDir],
    {
      env,
      cwd: REPO_ROOT,
    },
  );
  const port = await freePort();
  const inspector = await freePort();
  base = `http://127.0.0.1:${port}`;
  edge = spawn(
    wrangler,
    [
      'dev',
      '--config',
      config,
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--inspector-port',
      String(inspector),
      '--persist-to',
      stateDir,
      '--show-interactive-dev-session=false',
    ],
    { env, cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  edge.stdout?.on('data', (d) => (edgeLog += d));
  edge.stderr?.on('data', (d) => (edgeLog += d));
  const [, b] = await Promise.all([waitForEdge(`${base}/api/health`, 90_000), launchChromium()]);
  browser = b;
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (edge && edge.exitCode === null) {
    const exited = new Promise((r) => edge?.once('exit', r));
    edge.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (edge.exitCode === null) edge.kill('SIGKILL');
  }
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

const shot = screenshots('ui');

test('sign up, org, cluster with its Helm command and rotation, invite a member, create and revoke a token, sign out', async () => {
  const { page, errors: pageErrors } = await openPage(browser!, { width: 1366, height: 820 });

  // Signed out: any app path lands on sign-in; the link goes to sign-up (state in the URL).
  await page.goto(`${base}/o/acme/clusters`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await shot(page, '01-sign-in');
  await page.getByRole('link', { name: 'Create an account' }).click();
  expect(new URL(page.url()).pathname).toBe('/signup');
  await page.getByLabel('Name').fill('Ada Lovelace');
  await page.getByLabel('Work email').fill('ada@example.com');
  await page.getByLabel('Password').fill('correct horse battery');
  await shot(page, '02-sign-up');
  await page.getByRole('button', { name: 'Create account' }).click();

  // First organization (the URL name follows the display name).
  await page.getByRole('heading', { name: 'Welcome, Ada Lovelace' }).waitFor();
  await page.getByLabel('Organization name').fill('Acme Analytics');
  expect(await page.getByLabel('URL name').inputValue()).toBe('acme-analytics');
  await shot(page, '03-new-org');
  await page.getByRole('button', { name: 'Create organization' }).click();

  // Clusters: empty, so the create form shows; the connect panel shows the commands and the token once.
  await page.waitForURL('**/o/acme-analytics/clusters');
  await page.getByLabel('Cluster name').fill('prod-eu-1');
  await shot(page, '04-clusters-empty');
  await page.getByRole('button', { name: 'Create cluster' }).click();
  const helm = await page.getByTestId('helm-command').textContent();
  const token = await page.getByTestId('install-token').textContent();
  expect(token).toMatch(/^ust_cit_/);
  expect(helm).toContain('helm upgrade --install understory');
  expect(helm).toContain(`--set portal.installToken=${token}`);
  expect(helm).toContain('--set clusterName=prod-eu-1');
  expect(await page.getByTestId('local-command').textContent()).toContain(`--install-token ${token}`);
  const row = page.locator('tbody tr', { hasText: 'prod-eu-1' });
  await poll(() => row.textContent()).toContain('pending');
  await shot(page, '05-cluster-created');
  await page.getByRole('button', { name: 'Done' }).click();
  expect(await page.getByTestId('install-token').count()).toBe(0);
  // Rotating shows a new token once; the old one is gone from the page.
  await page.getByRole('button', { name: 'Rotate the install token of prod-eu-1' }).click();
  await poll(() => page.getByTestId('install-token').textContent()).toMatch(/^ust_cit_/);
  expect(await page.getByTestId('install-token').textContent()).not.toBe(token);
  await page.getByRole('button', { name: 'Done' }).click();

  // API tokens: create (shown once), then revoke; the API agrees.
  await page.getByRole('link', { name: 'API tokens' }).click();
  await page.waitForURL('**/o/acme-analytics/tokens');
  await page.getByText('No API tokens').waitFor();
  await shot(page, '06-tokens-empty');
  await page.getByLabel('Name', { exact: true }).fill('ci-deploy');
  await page.getByLabel('Scope').selectOption('write');
  await page.getByRole('button', { name: 'Create token' }).click();
  const secret = await page.getByTestId('new-token').textContent();
  expect(secret).toMatch(/^ust_pat_/);
  const tokenRow = page.locator('tr[data-token-row="ci-deploy"]');
  await poll(() => tokenRow.textContent()).toContain('active');
  await shot(page, '07-token-created');
  const asToken = () => fetch(`${base}/api/orgs`, { headers: { authorization: `Bearer ${secret}` } });
  expect((await asToken()).status).not.toBe(401);
  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: 'Revoke ci-deploy' }).click();
  await poll(() => tokenRow.textContent()).toContain('revoked');
  expect((await asToken()).status).toBe(401);
  await shot(page, '08-token-revoked');

  // Members: invite a teammate; the link (token in the fragment) brings them through sign-up into the org.
  await page.getByRole('link', { name: 'Members' }).click();
  await page.waitForURL('**/o/acme-analytics/members');
  await page.getByLabel('Email').fill('grace@example.com');
  await page.locator('select[name="inviteRole"]').selectOption('editor');
  await page.getByRole('button', { name: 'Invite' }).click();
  const inviteUrl = (await page.getByTestId('invite-link').textContent()) ?? '';
  expect(inviteUrl).toMatch(new RegExp(`^${base}/invite#ust_inv_`));
  await page.locator('tr[data-invitation-row="grace@example.com"]').waitFor();
  await shot(page, '08b-members-invited');
  const { page: gracePage, errors: graceErrors } = await openPage(browser!, { width: 1366, height: 820 });
  await gracePage.goto(inviteUrl);
  await gracePage.getByRole('heading', { name: 'Create your account' }).waitFor();
  await gracePage.getByLabel('Name').fill('Grace Hopper');
  await gracePage.getByLabel('Work email').fill('grace@example.com');
  await gracePage.getByLabel('Password').fill('another long passphrase');
  await gracePage.getByRole('button', { name: 'Create account' }).click();
  await gracePage.getByRole('button', { name: 'Accept invitation' }).waitFor();
  await shot(gracePage, '08b-accept-invitation');
  await gracePage.getByRole('button', { name: 'Accept invitation' }).click();
  await gracePage.waitForURL('**/o/acme-analytics/clusters');
  await gracePage.locator('tbody tr', { hasText: 'prod-eu-1' }).waitFor();
  expect(await gracePage.locator('.role-badge').textContent()).toBe('editor');
  expect(graceErrors).toEqual([]);
  await gracePage.context().close();
  await page.reload();
  const graceRow = page.locator('tr[data-member-row="grace@example.com"]');
  await graceRow.waitFor();
  expect(await page.getByLabel('Role of grace@example.com').inputValue()).toBe('editor');
  const [patched] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().includes('/members/')),
    page.getByLabel('Role of grace@example.com').selectOption('viewer'),
  ]);
  expect(patched.status()).toBe(200);
  await page.reload();
  await poll(() => page.getByLabel('Role of grace@example.com').inputValue()).toBe('viewer');
  await shot(page, '08c-members');

  // Data pages: the cluster is not connected yet, so each says it is waiting for it and links to clusters.
  for (const name of ['services', 'map', 'traces', 'logs', 'metrics', 'events']) {
    await page.goto(`${base}/o/acme-analytics/${name}`);
    await page.getByRole('heading', { name: 'Waiting for prod-eu-1 to connect' }).waitFor();
    await shot(page, `09-${name}`);
  }
  // The shared time range: a preset goes into the URL and travels with the navigation to another data page.
  await page.getByRole('button', { name: /Time range/ }).click();
  await page.getByRole('button', { name: 'Last 6 hours' }).click();
  await poll(() => new URL(page.url()).searchParams.get('from')).toBe('now-6h');
  await page.getByRole('link', { name: 'Services' }).click();
  await poll(() => new URL(page.url()).pathname).toBe('/o/acme-analytics/services');
  expect(new URL(page.url()).searchParams.get('from')).toBe('now-6h');
  expect(await page.getByTestId('time-range-label').textContent()).toBe('Last 6 hours');
  // A second organization through the switcher; switching keeps the page and puts the org in the URL.
  await page.getByLabel('Organization').selectOption('+new');
  await page.getByRole('heading', { name: 'New organization' }).waitFor();
  await page.getByLabel('Organization name').fill('Beta Labs');
  await page.getByRole('button', { name: 'Create organization' }).click();
  await page.waitForURL('**/o/beta-labs/clusters');
  await page.getByRole('heading', { name: 'Connect a cluster' }).waitFor();
  expect(await page.locator('tbody tr').count()).toBe(0);
  await page.getByRole('link', { name: 'Services' }).click();
  await page.getByRole('heading', { name: 'Connect your first cluster' }).waitFor();
  await shot(page, '09b-services-no-cluster');
  await page.getByRole('link', { name: 'API tokens' }).click();
  await page.getByText('No API tokens').waitFor();
  await page.getByLabel('Organization').selectOption('acme-analytics');
  await page.waitForURL('**/o/acme-analytics/tokens');
  await page.locator('tr[data-token-row="ci-deploy"]').waitFor();

  await page.setViewportSize({ width: 1920, height: 1000 });
  await page.goto(`${base}/o/acme-analytics/clusters`);
  await page.locator('tbody tr', { hasText: 'prod-eu-1' }).waitFor();
  await shot(page, '10-clusters-wide');

  // Keyboard: the skip link is the first tab stop.
  await page.keyboard.press('Tab');
  expect(await focusedText(page)).toBe('Skip to content');

  // Sign out ends the session: the API refuses it and the UI shows sign-in again.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  const me = await page.evaluate(async () => (await fetch('/api/me')).status);
  expect(me).toBe(401);
  // A wrong password shows the API's error in the form; the right one returns to the organization.
  await page.getByLabel('Work email').fill('ada@example.com');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await poll(() => page.getByRole('alert').textContent()).toContain('wrong email or password');
  await shot(page, '11-sign-in-error');
  expect(new URL(page.url()).pathname).toBe('/signin');
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL('**/o/acme-analytics/clusters');
  expect(pageErrors).toEqual([]);
  await page.context().close();
}, 300_000);
