/**
 * End to end for the Monitors pages with every real piece: `wrangler dev` (worker, local D1, the cluster's
 * Durable Object) serving the built UI, the real Portal dialling out to it, a private VictoriaMetrics fed an
 * hour of RED histograms (testing/dataFixture.ts), chdb with the project's migrations holding Kubernetes events,
 * Debian's vmalert and the monitors evaluator (incloud/monitors/testing/stack.ts), and a local webhook receiver.
 * Debian's headless Chromium (playwright-core) drives the UI as an owner (an editor's powers and more) and as a
 * viewer who joined by invitation. Screenshots: test-artifacts/ui/monitors/*.png.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, onTestFailed, test } from 'vitest';
import { REPO_ROOT } from '../../cli/up/plan.ts';
import type { WebhookPayload } from '../../incloud/monitors/payloads.ts';
import { openStore, startWithVmalert, TEST_KEYS } from '../../incloud/monitors/testing/stack.ts';
import { WebhookReceiver } from '../../incloud/monitors/testing/webhookReceiver.ts';
import { Portal } from '../../incloud/portal/portal.ts';
import { type EdgeStack, startEdgeStack, waitConnected } from '../../incloud/portal/testing/edgeStack.ts';
import { VictoriaMetricsProcess } from '../../incloud/testing/victoriaMetrics.ts';
import { launchChromium, screenshots } from './testing/browser.ts';
import { eventRows, writeRedSeries } from './testing/dataFixture.ts';
import { logRows } from './testing/logRows.ts';
import { addMember } from './testing/members.ts';

const vm = new VictoriaMetricsProcess();
const hook = new WebhookReceiver();
let hookUrl = '';
let stack: EdgeStack | undefined;
let db: Awaited<ReturnType<typeof openStore>> | undefined;
let monitors: Awaited<ReturnType<typeof startWithVmalert>> | undefined;
let portal: Portal | undefined;
let browser: Browser | undefined;
const VIEWER = { email: 'viewer@example.com', password: 'a long enough password', name: 'Vera Viewer' };
const OWNER = { email: 'stack@example.com', password: 'a long enough password' };
const SECRET = 'Bearer hook-secret-7f3a';

beforeAll(async () => {
  if (!existsSync(join(REPO_ROOT, 'edge/public/assets'))) {
    throw new Error('cannot test the UI: edge/public is not built; run node scripts/build-ui.mjs');
  }
  db = await openStore();
  const [s, b, , url] = await Promise.all([startEdgeStack(), launchChromium(), vm.start(), hook.start()]);
  stack = s;
  browser = b;
  hookUrl = url;
  // Data stamped after the slow start-up and running a few minutes past it, so the monitors' windows (5 and 10
  // minutes, read at each evaluation) still hold it however slowly a loaded machine gets to the evaluations:
  // the RED series continue 10 minutes ahead, the events are shifted 5 minutes (FailedScheduling 3 minutes ago).
  const now = Date.now();
  await writeRedSeries(vm.url, now + 10 * 60_000);
  await vm.flush();
  await db.store.insert('k8s_events', eventRows(now + 5 * 60_000));
  await db.store.insert('otel_logs', logRows(now));
  monitors = await startWithVmalert(db.store, db.dir, vm.url);
  portal = new Portal({
    edgeUrl: stack.url,
    installToken: stack.installToken,
    clickhouse: db.store,
    victoriaMetricsUrl: vm.url,
    replicaId: 'e2e-monitors',
    // The evaluator opens target secrets with the same key (incloud/monitors/targetSecrets.ts).
    targetSecrets: TEST_KEYS,
  });
  await portal.start();
  await waitConnected(stack, 60_000);
  await addMember(stack.url, stack.orgId, { ...VIEWER, role: 'viewer' });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await portal?.shutdown();
  await monitors?.stop();
  await stack?.stop();
  await hook.close();
  await vm.close();
  await db?.close();
}, 60_000);

const shot = screenshots('ui/monitors');
/** expect.poll with room for a loaded machine (the default is 1 s). */
const poll = <T>(fn: () => Promise<T> | T, timeout = 30_000) => expect.poll(fn, { timeout, interval: 500 });

async function signIn(who: { email: string; password: string }): Promise<{ page: Page; errors: string[] }> {
  const ctx = await browser!.newContext({ viewport: { width: 1366, height: 900 } });
  // Other suites share this machine's two cores: waits get room, the test still fails on a wrong page.
  ctx.setDefaultTimeout(60_000);
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  onTestFailed(async ({ task }) => {
    await shot(page, `failed-${task.name.split(':')[0]}`).catch(() => undefined);
  });
  await page.goto(`${stack!.url}/signin`);
  await page.getByLabel('Work email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL('**/o/stack/**');
  return { page, errors };
}

const monitorRow = (page: Page, name: string) => page.locator(`tr[data-monitor-row="${name}"]`);
const titleState = (page: Page) =>
  page.locator('.mon-title-row .mon-state').first().getAttribute('data-state');

test('editor: a target with write-only secrets, ready-made monitors that fire from the real evaluator, edit with a live preview, mute, silences, history', async () => {
  const { page, errors } = await signIn(OWNER);
  await page.getByRole('link', { name: 'Monitors' }).click();
  await page.waitForURL('**/o/stack/monitors**');
  await page.getByRole('heading', { name: 'No monitors yet' }).waitFor();
  await page.getByRole('button', { name: /Error rate of a workload/ }).waitFor();
  await shot(page, '01-empty');

  // A webhook target: the URL and the header value go to the cluster and never come back.
  await page.getByRole('link', { name: 'Notification targets' }).click();
  await page.waitForURL('**/monitors/targets**');
  await page.getByLabel('Name', { exact: true }).fill('ops');
  await page.getByLabel('URL (write-only)').fill(hookUrl);
  await page.getByRole('button', { name: '+ Add header' }).click();
  await page.getByLabel('Header 1 name').fill('Authorization');
  await page.getByLabel('Header 1 value').fill(SECRET);
  await page.getByRole('button', { name: 'Add target' }).click();
  const target = page.locator('tr[data-target-row="ops"]');
  await target.waitFor();
  expect(await target.textContent()).toContain(new URL(hookUrl).host);
  expect(await target.textContent()).toContain('Authorization: ••••');
  expect(await page.getByLabel('URL (write-only)').inputValue()).toBe('');
  const html = await page.content();
  expect(html).not.toContain('hook-secret');
  expect(html).not.toContain(hookUrl);
  // Send test: the cluster (which holds the URL) sends one notification marked as a test, with the secret
  // header; the page shows what the receiver answered.
  await target.getByRole('button', { name: 'Send a test notification to ops' }).click();
  await target.getByText('✓ Delivered: the receiver answered HTTP 200').waitFor();
  await hook.waitFor(1, 30_000);
  expect(hook.accepted[0]!.headers.authorization).toBe(SECRET);
  expect((hook.accepted[0]!.body as WebhookPayload).test).toBe(true);
  const testSends = hook.accepted.length;
  await shot(page, '02-targets');

  // One click: failed scheduling (SQL over Kubernetes events). The fixture has a FailedScheduling event 8 minutes
  // ago, so the real evaluator fires it on its first run.
  await page.getByRole('link', { name: 'Monitors', exact: true }).first().click();
  // By keyboard: the cards are buttons.
  await page.getByRole('button', { name: /Failed scheduling/ }).focus();
  await page.keyboard.press('Enter');
  await poll(() => new URL(page.url()).searchParams.get('template')).toBe('failed-scheduling');
  await page.getByRole('button', { name: 'Turn on monitor' }).click();
  await page.waitForURL('**/monitors/m/**');
  await page.locator('[data-monitor-title="Failed scheduling"]').waitFor();
  await poll(() => titleState(page), 60_000).toBe('firing');
  await page.locator('tr[data-alert-row="firing"]').filter({ hasText: 'name=inventory-7c2d-z4' }).waitFor();
  await page.locator('.mon-band-firing').first().waitFor();
  await shot(page, '03-failed-scheduling-firing');

  // Error rate of a workload (PromQL through vmalert), picked from the real services, notifying "ops".
  await page.getByRole('link', { name: '← All monitors' }).click();
  await monitorRow(page, 'Failed scheduling').waitFor();
  await page.getByRole('button', { name: 'Show 5' }).click();
  await page.getByRole('button', { name: /Error rate of a workload/ }).click();
  const workload = page.getByLabel('Workload', { exact: true });
  await poll(() => workload.locator('option').allTextContents()).toContain('checkout (shop)');
  await workload.selectOption('shop/checkout');
  await page.getByRole('checkbox', { name: /^ops/ }).check();
  await shot(page, '04-template-form');
  await page.getByRole('button', { name: 'Turn on monitor' }).click();
  await page.waitForURL('**/monitors/m/**');
  await page.locator('[data-monitor-title="Error rate of shop/checkout"]').waitFor();
  const monitorUrl = page.url();

  // Edit it: evaluate every second, fire at once. The preview charts the query against the threshold: checkout
  // fails 6.67% of its requests (the fixture), over the 5% threshold.
  await page.getByRole('link', { name: 'Edit', exact: true }).click();
  await page.waitForURL('**/edit**');
  const query = page.getByLabel('PromQL query');
  await poll(() => query.inputValue()).toContain('workload="checkout"');
  await page.getByLabel('Evaluate every').fill('1s');
  await page.getByLabel('For', { exact: true }).fill('0s');
  await page.locator('.mon-preview canvas').first().waitFor();
  await poll(() => page.locator('.mon-preview-note').textContent()).toContain('1 of 1 series is > 0.05');
  await shot(page, '05-edit-preview');
  // A bad query is refused with the cluster's own parser message, before saving.
  await query.fill('sum(rate(');
  await page.locator('.mon-preview .alert-error').waitFor();
  await query.fill('');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText('Write the PromQL query.').waitFor();
  const editUrl = new URL(monitorUrl);
  editUrl.pathname += '/edit';
  await page.goto(editUrl.toString());
  await poll(() => page.getByLabel('PromQL query').inputValue()).toContain('workload="checkout"');
  await page.getByLabel('Evaluate every').fill('1s');
  await page.getByLabel('For', { exact: true }).fill('0s');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.waitForURL((u) => !u.pathname.endsWith('/edit'));
  await page.getByText('every 1s, fires as soon as the condition holds').waitFor();

  // vmalert evaluates it, the evaluator records the transition and notifies "ops" with its secret header.
  await hook.waitFor(testSends + 1, 90_000);
  const note = hook.accepted[testSends]!;
  expect(note.headers.authorization).toBe(SECRET);
  expect((note.body as WebhookPayload).monitor.name).toBe('Error rate of shop/checkout');
  expect((note.body as WebhookPayload).status).toBe('firing');
  await poll(() => titleState(page), 60_000).toBe('firing');
  // Since when: from the history the portal keeps.
  await poll(() => page.locator('.mon-title-since').textContent()).toMatch(
    /^Firing since \d\d:\d\d \((just now|\d+ minutes? ago)\)$/,
  );
  await poll(() => page.locator('tr[data-alert-row="firing"] td.num').first().textContent(), 30_000).toMatch(
    /^0\.066/,
  );
  await page.locator('tr[data-history-row="firing"]').first().waitFor();
  expect(await page.locator('tr[data-history-row="firing"]').first().textContent()).toContain('sent');
  await shot(page, '06-error-rate-firing');

  // Mute it for an hour: a silence on the monitor's label.
  await page.getByLabel('Mute Error rate of shop/checkout').selectOption({ label: 'for 1 hour' });
  await page.getByRole('button', { name: 'Unmute Error rate of shop/checkout' }).waitFor();
  await page.getByText(/^Muted until/).waitFor();

  // The list: both firing, state, severity, last transition, who is told, muted.
  await page.getByRole('link', { name: '← All monitors' }).click();
  const errRow = monitorRow(page, 'Error rate of shop/checkout');
  await errRow.waitFor();
  await poll(() => errRow.getAttribute('data-state')).toBe('firing');
  await poll(() => monitorRow(page, 'Failed scheduling').getAttribute('data-state')).toBe('firing');
  expect(await errRow.textContent()).toContain('muted');
  expect(await errRow.textContent()).toContain('critical');
  expect(await errRow.textContent()).toContain('ops');
  expect(await errRow.textContent()).toMatch(/Firing since \d\d:\d\d \((just now|\d+ minutes? ago)\)/);
  await poll(() => page.locator('.tile-value').first().textContent()).toBe('2');
  // Filters live in the URL.
  await page.getByLabel('Severity').selectOption('critical');
  await poll(() => page.locator('tr[data-monitor-row]').count()).toBe(1);
  expect(new URL(page.url()).searchParams.get('severity')).toBe('critical');
  await page.getByLabel('Severity').selectOption('');
  await poll(() => page.locator('tr[data-monitor-row]').count()).toBe(2);
  await shot(page, '07-list');
  await page.setViewportSize({ width: 1920, height: 1000 });
  await shot(page, '07b-list-wide');
  await page.setViewportSize({ width: 1366, height: 900 });

  // p99 of a templated path: the template API takes plain names only, so it opens as a custom PromQL monitor
  // built like the services page's chart of that resource.
  await page.getByRole('button', { name: 'Show 5' }).click();
  await page.getByRole('button', { name: /p99 latency of a resource/ }).click();
  await poll(() => workload.locator('option').allTextContents()).toContain('checkout (shop)');
  await workload.selectOption('shop/checkout');
  const resource = page.getByLabel('Resource', { exact: true });
  await poll(() => resource.locator('option').count()).toBeGreaterThan(2);
  await resource.selectOption('/api/orders/{id}');
  await page.getByRole('button', { name: 'Customize as a PromQL monitor' }).click();
  await page.waitForURL('**/monitors/new?**');
  await poll(() => page.getByLabel('PromQL query').inputValue()).toContain('resource="/api/orders/{id}"');
  expect(await page.getByLabel('PromQL query').inputValue()).toMatch(/^histogram_quantile\(0\.99, /);
  expect(await page.getByLabel('Name', { exact: true }).inputValue()).toBe(
    'p99 latency of checkout /api/orders/{id}',
  );
  expect(await page.getByLabel('Label 3 value').inputValue()).toBe('/api/orders/{id}');
  await page.locator('.mon-preview canvas').first().waitFor();
  await page.getByRole('link', { name: 'Cancel' }).click();
  await monitorRow(page, 'Failed scheduling').waitFor();

  // A custom SQL monitor over checkout's error logs (15 in any 5 minutes, health checks left out), with a
  // preview of the counts per window; the real evaluator fires it.
  await page.getByRole('link', { name: 'New monitor' }).click();
  await page.waitForURL('**/monitors/new**');
  await page.getByLabel('SQL (logs, traces, events)').check();
  await page.getByLabel('Filter').fill('severity:error -"health check"');
  await page.getByLabel('One alert per').selectOption('service');
  await page.getByLabel('Threshold', { exact: true }).fill('10');
  await page.getByLabel('Name', { exact: true }).fill('Checkout error logs');
  await page.getByRole('button', { name: '+ Add label' }).click();
  await page.getByLabel('Label 1 name').fill('team');
  await page.getByLabel('Label 1 value').fill('payments');
  await page.getByLabel('For', { exact: true }).fill('0s');
  await page.getByLabel('Evaluate every').fill('1s');
  await poll(() => page.locator('.mon-preview-note').textContent()).toMatch(
    /^1[7-8]\d matching lines in the range; (11|12) of 12 windows > 10/,
  );
  await page.locator('.mon-preview canvas').first().waitFor();
  // Dry run: the cluster runs the condition once as its evaluator would. A broken filter gets the evaluator's
  // words; the real one yields checkout's count (about 15 in the last 5 minutes), over 10: it would fire.
  await page.getByLabel('Filter').fill('severity:error -"health check');
  await page.getByRole('button', { name: 'Run once now' }).click();
  await page
    .locator('.mon-dry-run .alert-error')
    .filter({ hasText: 'cannot evaluate SQL condition:' })
    .waitFor();
  await page.getByLabel('Filter').fill('severity:error -"health check"');
  await page.getByRole('button', { name: 'Run once now' }).click();
  const dryRun = page.locator('[data-dry-run="fires"]');
  await dryRun.waitFor();
  expect(await dryRun.textContent()).toMatch(/^Would fire for 1 of \d+ groups/);
  const checkoutValue = Number(
    await dryRun.locator('tr[data-dry-run-group="checkout"] td.num').textContent(),
  );
  expect(checkoutValue).toBeGreaterThanOrEqual(13);
  expect(checkoutValue).toBeLessThanOrEqual(16);
  expect(await dryRun.locator('tr[data-dry-run-group="checkout"]').textContent()).toContain('holds');
  await shot(page, '08-new-sql');
  await page.getByRole('button', { name: 'Create monitor' }).click();
  await page.locator('[data-monitor-title="Checkout error logs"]').waitFor();
  await page.getByText('count(logs) where severity:error -"health check" by service over 5m > 10').waitFor();
  await poll(() => titleState(page), 60_000).toBe('firing');
  await page.locator('tr[data-alert-row="firing"]').filter({ hasText: 'service=checkout' }).waitFor();
  // About 15 in the evaluator's sliding 5 minutes (a window edge may cut a line or two off).
  const logValue = Number(await page.locator('tr[data-alert-row="firing"] td.num').first().textContent());
  expect(logValue).toBeGreaterThanOrEqual(13);
  expect(logValue).toBeLessThanOrEqual(16);
  // From the alert to the lines behind it: the monitor's filter narrowed to its group.
  await page.locator('tr[data-alert-row="firing"]').getByRole('link', { name: 'Logs →' }).click();
  await page.waitForURL('**/o/stack/logs?**');
  expect(new URL(page.url()).searchParams.get('q')).toBe('severity:error -"health check" service:checkout');
  await page.goBack();
  await page.locator('[data-monitor-title="Checkout error logs"]').waitFor();
  // Duplicate starts a new monitor from this one.
  await page.getByRole('link', { name: 'Duplicate' }).click();
  await page.waitForURL('**/monitors/new?**copy=**');
  await poll(() => page.getByLabel('Name', { exact: true }).inputValue()).toBe('Copy of Checkout error logs');
  expect(await page.getByLabel('Filter').inputValue()).toBe('severity:error -"health check"');
  await page.getByRole('link', { name: 'Cancel' }).click();

  // Silences and history.
  await page.getByRole('link', { name: 'Silences' }).click();
  const silence = page.locator('tr[data-silence-row="active"]');
  await silence.waitFor();
  expect(await silence.textContent()).toContain('monitor=Error rate of shop/checkout');
  // Who added it: the member's name, not the edge's actor id.
  expect(await silence.locator('td').nth(5).textContent()).toBe('Stack');
  await shot(page, '09-silences');
  await page.getByRole('link', { name: 'Alert history' }).click();
  await poll(() => page.locator('tr[data-history-row="firing"]').count()).toBeGreaterThanOrEqual(2);
  await page.locator('.chart-card canvas').first().waitFor();
  await shot(page, '10-history');
  expect(errors).toEqual([]);
}, 300_000);

test('viewer: sees monitors, alerts, targets and silences read-only; the API refuses changes', async () => {
  const { page, errors } = await signIn(VIEWER);
  await page.goto(`${stack!.url}/o/stack/monitors`);
  const row = monitorRow(page, 'Error rate of shop/checkout');
  await row.waitFor();
  await poll(() => row.getAttribute('data-state')).toBe('firing');
  await page.getByRole('note').filter({ hasText: 'You have view access' }).waitFor();
  for (const control of [
    page.getByRole('link', { name: 'New monitor' }),
    page.getByRole('link', { name: /^Edit/ }),
    page.getByRole('combobox', { name: /^Mute/ }),
    page.getByRole('heading', { name: 'Ready-made monitors' }),
  ])
    expect(await control.count()).toBe(0);
  await shot(page, '11-viewer-list');

  await row.getByRole('link', { name: 'Error rate of shop/checkout' }).click();
  await page.locator('[data-monitor-title="Error rate of shop/checkout"]').waitFor();
  await poll(() => titleState(page)).toBe('firing');
  for (const name of ['Edit', 'Delete', 'Disable'])
    expect(await page.getByRole('button', { name, exact: true }).count()).toBe(0);
  expect(await page.getByRole('link', { name: 'Edit', exact: true }).count()).toBe(0);
  expect(await page.getByRole('link', { name: 'Duplicate' }).count()).toBe(0);
  await shot(page, '12-viewer-detail');
  await page.goto(`${page.url().replace(/\?.*$/, '')}/edit`);
  await page.getByRole('heading', { name: 'Read-only' }).waitFor();

  await page.getByRole('link', { name: 'Notification targets' }).click();
  await page.locator('tr[data-target-row="ops"]').waitFor();
  expect(await page.getByRole('button', { name: /Add target|Replace|Delete|Send a test/ }).count()).toBe(0);
  await page.getByRole('link', { name: 'Silences' }).click();
  await page.locator('tr[data-silence-row="active"]').waitFor();
  expect(await page.getByRole('button', { name: /End/ }).count()).toBe(0);

  // The edge enforces it too: the viewer's own session cannot create a monitor.
  const status = await page.evaluate(async (path) => {
    const me = (await (await fetch('/api/me')).json()) as { csrfToken: string };
    const res = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken },
      body: JSON.stringify({ name: 'x', condition: { type: 'promql', query: 'up', op: '>', threshold: 1 } }),
    });
    return res.status;
  }, `/api/orgs/${stack!.orgId}/clusters/${stack!.clusterId}/monitors`);
  expect(status).toBe(403);
  expect(errors).toEqual([]);
}, 180_000);
